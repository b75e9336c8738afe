/**
 * Storage accounts in ARM, read only: tidemark's accounts are deployed by infra/, and the fabric
 * never creates or deletes one in Azure (a put or delete is InvalidArgument). Accounts of a kind the
 * model has no name for (`Storage`, `BlobStorage`, `FileStorage`) are left out.
 */
import { TidemarkError } from '../../errors';
import { checkStorageAccount } from '../recordChecks';
import type { StorageAccount } from '../types';
import { ArmCollection, type Model } from './armCollection';
import { API_VERSIONS } from './apiVersions';
import { parseResourceId, PROVIDERS } from './armIds';
import { type ArmContext, splitTags } from './armRecords';
import type { ArmResource } from './armTypes';

const KINDS: readonly StorageAccount['kind'][] = ['StorageV2', 'BlockBlobStorage'];

function readOnly(): TidemarkError {
  return new TidemarkError(
    'InvalidArgument',
    'Storage accounts are read-only in the ARM fabric; deploy them with infra/ (Bicep).',
  );
}

export class ArmStorageAccounts extends ArmCollection<StorageAccount, ArmResource> {
  constructor(ctx: ArmContext) {
    super(ctx, {
      type: PROVIDERS.storageAccounts,
      apiVersion: API_VERSIONS.storage,
      label: 'storage account',
      check: checkStorageAccount,
    });
  }

  #known(raw: ArmResource): boolean {
    return KINDS.some((k) => k.toLowerCase() === raw.kind?.toLowerCase());
  }

  override async get(resourceGroup: string, name: string): Promise<StorageAccount | undefined> {
    const raw = await super.get(resourceGroup, name);
    return raw && KINDS.includes(raw.kind) ? raw : undefined;
  }

  protected override async listRaw(resourceGroup?: string): Promise<ArmResource[]> {
    return (await super.listRaw(resourceGroup)).filter((raw) => this.#known(raw));
  }

  protected async toModel(raw: ArmResource): Promise<Model<StorageAccount>> {
    const parsed = parseResourceId(raw.id);
    const tags = splitTags(raw.tags).user;
    const kind = KINDS.find((k) => k.toLowerCase() === raw.kind?.toLowerCase());
    return {
      resourceGroup: parsed?.resourceGroup ?? '',
      name: raw.name ?? parsed?.name ?? '',
      region: this.ctx.region,
      // Unknown kinds are filtered out before they get here; the cast only satisfies the type.
      kind: kind ?? (raw.kind as StorageAccount['kind']),
      ...(Object.keys(tags).length ? { tags } : {}),
    };
  }

  protected writableOf(current: ArmResource): ArmResource {
    return current;
  }

  protected async toBody(): Promise<ArmResource> {
    throw readOnly();
  }

  override async put(): Promise<StorageAccount> {
    throw readOnly();
  }

  override async delete(): Promise<boolean> {
    throw readOnly();
  }
}
