/**
 * A FabricStore collection of one ARM resource type in one region: get, list, put and delete by
 * `{resourceGroup}/{name}` (ARM compares both case-insensitively), with the interface's ETag rules
 * (armRecords.ts). A resource in another location is not in this store: `get` does not see it and
 * `list` leaves it out. Every `put` reads the resource first and sends back what ARM has, changed only
 * where the record says, so properties tidemark does not model are kept; a put that changes nothing
 * is not sent.
 */
import { TidemarkError } from '../../errors';
import type { DeleteOptions, GroupedCollection } from '../fabricStore';
import { checkRegion } from '../recordChecks';
import type { GroupedResource } from '../types';
import { type ProviderType, resourceGroupPath, resourceId, subscriptionPath } from './armIds';
import { type ArmContext, canonicalJson, checkWrite, inRegion, mapLimit, versionOf } from './armRecords';
import type { ArmResource } from './armTypes';

export interface ArmKind<T> {
  type: ProviderType;
  apiVersion: string;
  /** In messages: `virtual network`. */
  label: string;
  /** The record's own rules (recordChecks.ts). */
  check: (record: T) => void;
  /** Send `If-None-Match: *` when creating (the provider documents it). */
  createOnly?: boolean;
}

export type Model<T> = Omit<T, 'etag'>;

export abstract class ArmCollection<
  T extends GroupedResource,
  R extends ArmResource,
> implements GroupedCollection<T> {
  constructor(
    protected readonly ctx: ArmContext,
    protected readonly kind: ArmKind<T>,
  ) {}

  /** The record ARM's resource maps to (without version). */
  protected abstract toModel(raw: R): Promise<Model<T>>;

  /**
   * The PUT body for `record`: `base` (what ARM has now, as writableOf gives it; undefined when
   * creating) changed only where the record differs, so an unchanged record gives `base` back.
   */
  protected abstract toBody(record: T, base: R | undefined, current: R | undefined): Promise<R>;

  /** `current` without what ARM computes: what a PUT may send back. */
  protected abstract writableOf(current: R): R;

  protected get client() {
    return this.ctx.client;
  }

  path(resourceGroup: string, name: string): string {
    return resourceId(this.ctx.subscriptionId, resourceGroup, this.kind.type, name);
  }

  /** Extra query of a single GET (VMs ask for their instance view). */
  protected getQuery(): Record<string, string> | undefined {
    return undefined;
  }

  /** The resource as ARM has it, in any location; undefined when there is none. */
  readRaw(resourceGroup: string, name: string): Promise<R | undefined> {
    return this.client.get<R>(this.path(resourceGroup, name), this.kind.apiVersion, this.getQuery());
  }

  protected async withVersion(raw: R): Promise<T> {
    const model = await this.toModel(raw);
    return { ...model, etag: versionOf(raw, model) } as T;
  }

  protected async version(raw: R): Promise<string> {
    return raw.etag ?? versionOf(raw, await this.toModel(raw));
  }

  async get(resourceGroup: string, name: string): Promise<T | undefined> {
    const raw = await this.readRaw(resourceGroup, name);
    return raw && inRegion(this.ctx, raw) ? this.withVersion(raw) : undefined;
  }

  /** The resources of this type in the region (one group, or the whole subscription). */
  protected async listRaw(resourceGroup?: string): Promise<R[]> {
    const scope =
      resourceGroup === undefined
        ? subscriptionPath(this.ctx.subscriptionId)
        : resourceGroupPath(this.ctx.subscriptionId, resourceGroup);
    const all = await this.client.list<R>(`${scope}/providers/${this.kind.type}`, this.kind.apiVersion);
    return (all ?? []).filter((raw) => inRegion(this.ctx, raw));
  }

  async list(resourceGroup?: string): Promise<T[]> {
    return mapLimit(await this.listRaw(resourceGroup), 8, (raw) => this.withVersion(raw));
  }

  protected describe(resourceGroup: string, name: string): { label: string; name: string } {
    return { label: this.kind.label, name: `${resourceGroup}/${name}` };
  }

  async put(record: T): Promise<T> {
    this.kind.check(record);
    checkRegion(this.ctx.region, record.region, `${this.kind.label} ${record.name}`);
    const current = await this.readRaw(record.resourceGroup, record.name);
    const conditions = await checkWrite(
      this.ctx,
      this.describe(record.resourceGroup, record.name),
      current,
      record.etag,
      () => this.version(current!),
      { ifNoneMatch: this.kind.createOnly },
    );
    const base = current && this.writableOf(current);
    const body = await this.toBody(record, base && structuredClone(base), current);
    if (base && canonicalJson(body) === canonicalJson(base)) return this.withVersion(current!);
    const saved = await this.client.put<R>(
      this.path(record.resourceGroup, record.name),
      this.kind.apiVersion,
      body,
      conditions,
    );
    return this.withVersion(saved);
  }

  async delete(resourceGroup: string, name: string, options: DeleteOptions = {}): Promise<boolean> {
    const current = await this.readRaw(resourceGroup, name);
    if (!current || !inRegion(this.ctx, current)) return false;
    if (
      options.etag !== undefined &&
      options.etag !== '*' &&
      (await this.version(current)) !== options.etag
    ) {
      const what = this.describe(resourceGroup, name);
      throw new TidemarkError('Conflict', `The ${what.label} ${what.name} changed meanwhile.`, {
        retryable: true,
        hint: 'Read it again and retry.',
        details: { kind: what.label, name: what.name },
      });
    }
    const ifMatch = options.etag !== undefined && options.etag !== '*' ? current.etag : undefined;
    return this.client.delete(
      this.path(resourceGroup, name),
      this.kind.apiVersion,
      ifMatch ? { ifMatch } : {},
    );
  }
}
