/**
 * Managed snapshots (`Microsoft.Compute/snapshots`): a point-in-time copy of a managed disk. tidemark
 * reads a VM's disks through them, because Azure does not export (beginGetAccess) a disk attached to
 * a VM that is not deallocated: snapshot the disk, grant read access on the snapshot
 * (diskAccessGrants.ts), read it, revoke, delete.
 *
 * Creating is idempotent the way managedDisks.ts is: a snapshot that exists from the same source is
 * returned as it is; one from another source is a Conflict.
 */
import { TidemarkError } from '../../errors';
import { checkName } from '../names';
import { checkRegion } from '../recordChecks';
import { API_VERSIONS } from './apiVersions';
import { idKey, isIdOfType, normalizeLocation, parseResourceId, PROVIDERS, resourceId } from './armIds';
import type { ArmContext } from './armRecords';
import type { ArmDisk } from './armTypes';

const GiB = 1024 ** 3;

export interface ManagedSnapshot {
  id: string;
  resourceGroup: string;
  name: string;
  region: string;
  sizeBytes: number;
  /** The resource id of the disk (or snapshot) it was taken of. */
  source: string;
  incremental?: boolean;
}

export interface SnapshotOptions {
  /** An incremental snapshot stores only what changed since the disk's previous one (default false). */
  incremental?: boolean;
  /** `Standard_LRS`, `Standard_ZRS`, `Premium_LRS`; ARM's default when not given. */
  sku?: string;
  tags?: Record<string, string>;
}

function toSnapshot(raw: ArmDisk, region: string): ManagedSnapshot {
  const parsed = parseResourceId(raw.id);
  const p = raw.properties ?? {};
  const gb = p.diskSizeGB;
  return {
    id: raw.id ?? '',
    resourceGroup: parsed?.resourceGroup ?? '',
    name: raw.name ?? parsed?.name ?? '',
    region: normalizeLocation(raw.location) || region,
    sizeBytes: p.diskSizeBytes ?? (gb === undefined ? 0 : gb * GiB),
    source: p.creationData?.sourceResourceId ?? '',
    ...(p.incremental !== undefined ? { incremental: p.incremental } : {}),
  };
}

/** Whether `id` is the id of a managed disk or snapshot (no child resource). */
export function isDiskOrSnapshotId(id: string): boolean {
  const parsed = parseResourceId(id);
  return (
    (isIdOfType(parsed, PROVIDERS.disks) || isIdOfType(parsed, PROVIDERS.snapshots)) &&
    parsed.children.length === 0
  );
}

export class ManagedSnapshots {
  constructor(private readonly ctx: ArmContext) {}

  #path(resourceGroup: string, name: string): string {
    return resourceId(this.ctx.subscriptionId, resourceGroup, PROVIDERS.snapshots, name);
  }

  async get(resourceGroup: string, name: string): Promise<ManagedSnapshot | undefined> {
    const raw = await this.ctx.client.get<ArmDisk>(this.#path(resourceGroup, name), API_VERSIONS.snapshots);
    return raw && toSnapshot(raw, this.ctx.region);
  }

  /** A snapshot of the managed disk (or snapshot) `sourceDiskId`, awaited until ARM has taken it. */
  async create(
    region: string,
    resourceGroup: string,
    name: string,
    sourceDiskId: string,
    options: SnapshotOptions = {},
  ): Promise<ManagedSnapshot> {
    checkRegion(this.ctx.region, region, `Snapshot ${name}`);
    checkName('resourceGroup', resourceGroup);
    checkName('disk', name);
    if (!isDiskOrSnapshotId(sourceDiskId)) {
      throw new TidemarkError(
        'InvalidArgument',
        `Snapshot ${name}: ${JSON.stringify(sourceDiskId)} is not the id of a managed disk or snapshot.`,
        { details: { source: sourceDiskId } },
      );
    }
    const path = this.#path(resourceGroup, name);
    const existing = await this.ctx.client.get<ArmDisk>(path, API_VERSIONS.snapshots);
    if (existing) {
      const from = existing.properties?.creationData?.sourceResourceId;
      if (from === undefined || idKey(from) !== idKey(sourceDiskId)) {
        throw new TidemarkError(
          'Conflict',
          `Snapshot ${resourceGroup}/${name} exists of another source (${from ?? 'none'}), not ${sourceDiskId}.`,
          { details: { snapshot: existing.id } },
        );
      }
      return toSnapshot(existing, this.ctx.region);
    }
    const body: ArmDisk = {
      location: this.ctx.region,
      ...(options.tags ? { tags: options.tags } : {}),
      ...(options.sku ? { sku: { name: options.sku } } : {}),
      properties: {
        creationData: { createOption: 'Copy', sourceResourceId: sourceDiskId },
        incremental: options.incremental ?? false,
      },
    };
    const saved = await this.ctx.client.put<ArmDisk>(path, API_VERSIONS.snapshots, body);
    return toSnapshot(saved, this.ctx.region);
  }

  /** Deletes the snapshot (its access must be revoked first); false when there was none. */
  delete(resourceGroup: string, name: string): Promise<boolean> {
    return this.ctx.client.delete(this.#path(resourceGroup, name), API_VERSIONS.snapshots);
  }
}
