/**
 * Managed disks, for failover in Azure: a VM there runs on managed disks, so failover makes one per
 * disk of the recovery point, then PUTs the VM with their ids (virtualMachines.ts).
 *
 *   Import  from a blob (`sourceUri`, https; http only to 127.0.0.1 or localhost, a local test
 *           server) in a storage account of the subscription (`storageAccountId`): ARM reads the
 *           blob, which must be a fixed-size VHD (its size a whole number of MiB plus the 512-byte VHD
 *           footer, ../vhdFooter.ts).
 *   Copy    from a managed snapshot or disk (`sourceResourceId`).
 *
 * Creating is idempotent: a disk that exists from the same source is returned as it is; one from
 * another source is a Conflict. An imported disk has the VHD's exact size (no `diskSizeGB` is sent,
 * which would grow it to whole GiB); a copy gets `diskSizeGB`, `sizeBytes` rounded up (ARM refuses a
 * size below the source's).
 */
import { TidemarkError } from '../../errors';
import { checkName } from '../names';
import { checkRegion } from '../recordChecks';
import { API_VERSIONS } from './apiVersions';
import { idKey, parseResourceId, PROVIDERS, refFromId, resourceGroupPath, resourceId } from './armIds';
import { type ArmContext, inRegion } from './armRecords';
import type { ArmDisk } from './armTypes';
import { isDiskOrSnapshotId } from './snapshots';

const GiB = 1024 ** 3;
/** Hosts a source blob may be read from over plain http: a local test server (Azurite). */
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost']);
export const DEFAULT_DISK_SKU = 'StandardSSD_LRS';

export interface ManagedDisk {
  id: string;
  resourceGroup: string;
  name: string;
  region: string;
  sizeBytes: number;
  osType?: string;
  createOption?: string;
  source?: string;
  tags?: Record<string, string>;
}

export interface ManagedDiskOptions {
  /** For an OS disk: `Linux` or `Windows`. */
  osType?: 'Linux' | 'Windows';
  /** Default StandardSSD_LRS. */
  sku?: string;
  tags?: Record<string, string>;
}

type Source =
  | { createOption: 'Import'; sourceUri: string; storageAccountId: string }
  | { createOption: 'Copy'; sourceResourceId: string };

function toManagedDisk(raw: ArmDisk, region: string): ManagedDisk {
  const parsed = parseResourceId(raw.id);
  const p = raw.properties ?? {};
  const gb = p.diskSizeGB;
  return {
    id: raw.id ?? '',
    resourceGroup: parsed?.resourceGroup ?? '',
    name: raw.name ?? parsed?.name ?? '',
    region,
    sizeBytes: p.diskSizeBytes ?? (gb === undefined ? 0 : gb * GiB),
    ...(p.osType ? { osType: p.osType } : {}),
    ...(p.creationData?.createOption ? { createOption: p.creationData.createOption } : {}),
    ...(p.creationData?.sourceUri || p.creationData?.sourceResourceId
      ? { source: p.creationData.sourceUri ?? p.creationData.sourceResourceId }
      : {}),
    ...(raw.tags && Object.keys(raw.tags).length > 0 ? { tags: { ...raw.tags } } : {}),
  };
}

function sourceOf(source: Source): string {
  return source.createOption === 'Import' ? source.sourceUri : source.sourceResourceId;
}

export class ManagedDisks {
  constructor(private readonly ctx: ArmContext) {}

  #path(resourceGroup: string, name: string): string {
    return resourceId(this.ctx.subscriptionId, resourceGroup, PROVIDERS.disks, name);
  }

  async get(resourceGroup: string, name: string): Promise<ManagedDisk | undefined> {
    const raw = await this.ctx.client.get<ArmDisk>(this.#path(resourceGroup, name), API_VERSIONS.disks);
    return raw && toManagedDisk(raw, this.ctx.region);
  }

  /** The group's managed disks in this region; none when the group is gone. */
  async list(resourceGroup: string): Promise<ManagedDisk[]> {
    const raw = await this.ctx.client.list<ArmDisk>(
      `${resourceGroupPath(this.ctx.subscriptionId, resourceGroup)}/providers/${PROVIDERS.disks}`,
      API_VERSIONS.disks,
    );
    return (raw ?? []).filter((d) => inRegion(this.ctx, d)).map((d) => toManagedDisk(d, this.ctx.region));
  }

  /** A managed disk imported from the blob `sourceUri` (a fixed VHD) of `storageAccountId`. */
  async createManagedDiskFromBlob(
    region: string,
    resourceGroup: string,
    name: string,
    sourceUri: string,
    storageAccountId: string,
    sizeBytes: number,
    options: ManagedDiskOptions = {},
  ): Promise<ManagedDisk> {
    let url: URL | undefined;
    try {
      url = new URL(sourceUri);
    } catch {
      url = undefined;
    }
    if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname)))) {
      throw new TidemarkError(
        'InvalidArgument',
        `Disk ${name}: source ${JSON.stringify(sourceUri)} is not an https blob URL (plain http only to 127.0.0.1 or localhost, a local test server).`,
      );
    }
    refFromId(storageAccountId, PROVIDERS.storageAccounts, `Disk ${name}: storageAccountId`);
    return this.#create(
      region,
      resourceGroup,
      name,
      sizeBytes,
      { createOption: 'Import', sourceUri, storageAccountId },
      options,
    );
  }

  /** A managed disk copied from a managed snapshot or disk. */
  async createManagedDiskFromSnapshot(
    region: string,
    resourceGroup: string,
    name: string,
    sourceResourceId: string,
    sizeBytes: number,
    options: ManagedDiskOptions = {},
  ): Promise<ManagedDisk> {
    if (!isDiskOrSnapshotId(sourceResourceId)) {
      throw new TidemarkError(
        'InvalidArgument',
        `Disk ${name}: ${JSON.stringify(sourceResourceId)} is not the id of a managed snapshot or disk.`,
      );
    }
    return this.#create(
      region,
      resourceGroup,
      name,
      sizeBytes,
      { createOption: 'Copy', sourceResourceId },
      options,
    );
  }

  async #create(
    region: string,
    resourceGroup: string,
    name: string,
    sizeBytes: number,
    source: Source,
    options: ManagedDiskOptions,
  ): Promise<ManagedDisk> {
    checkRegion(this.ctx.region, region, `Managed disk ${name}`);
    checkName('resourceGroup', resourceGroup);
    checkName('disk', name);
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % 512 !== 0) {
      throw new TidemarkError(
        'InvalidArgument',
        `Disk ${name}: size ${sizeBytes} is not a positive multiple of 512 bytes.`,
      );
    }
    const path = this.#path(resourceGroup, name);
    const existing = await this.ctx.client.get<ArmDisk>(path, API_VERSIONS.disks);
    if (existing) {
      const from =
        existing.properties?.creationData?.sourceUri ?? existing.properties?.creationData?.sourceResourceId;
      const same =
        from !== undefined &&
        (source.createOption === 'Import'
          ? from === source.sourceUri
          : idKey(from) === idKey(source.sourceResourceId));
      if (!same) {
        throw new TidemarkError(
          'Conflict',
          `Managed disk ${resourceGroup}/${name} exists from another source (${from ?? 'none'}), not ${sourceOf(source)}.`,
          { details: { disk: existing.id } },
        );
      }
      return toManagedDisk(existing, this.ctx.region);
    }
    const body: ArmDisk = {
      location: this.ctx.region,
      ...(options.tags ? { tags: options.tags } : {}),
      sku: { name: options.sku ?? DEFAULT_DISK_SKU },
      properties: {
        creationData: { ...source },
        // An import takes the VHD's own size, to the byte (a whole number of MiB); a size given
        // here would grow the disk to whole GiB, and its replica would no longer match it.
        ...(source.createOption === 'Import' ? {} : { diskSizeGB: Math.ceil(sizeBytes / GiB) }),
        ...(options.osType ? { osType: options.osType } : {}),
      },
    };
    const saved = await this.ctx.client.put<ArmDisk>(path, API_VERSIONS.disks, body);
    return toManagedDisk(saved, this.ctx.region);
  }

  /** Deletes the disk (it must not be attached); false when there was none. */
  delete(resourceGroup: string, name: string): Promise<boolean> {
    return this.ctx.client.delete(this.#path(resourceGroup, name), API_VERSIONS.disks);
  }
}
