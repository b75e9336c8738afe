/**
 * Protected items: one row per replicated VM in the target region's `ProtectedItems` table
 * (PartitionKey = resource group, RowKey = VM name). Every update is ETag-conditional, so two
 * writers never silently overwrite each other.
 */
import { odata, RestError, TableClient } from '@azure/data-tables';

import { TidemarkError } from './errors';
import type { BlobRef } from './fabric/types';
import { TABLES } from './storageNames';

export const PROTECTED_ITEM_STATES = [
  'Enabling',
  'InitialReplication',
  'Protected',
  'ResyncRequired',
  'FailoverInProgress',
  'FailedOver',
  'FailoverCommitted',
  'TestFailoverInProgress',
  'TestFailedOver',
  'Reprotecting',
  'Disabling',
] as const;

export type ProtectedItemState = (typeof PROTECTED_ITEM_STATES)[number];

export interface ReplicatedDiskInfo {
  /** The disk's index in deltas. */
  lun: number;
  name: string;
  sizeBytes: number;
  /**
   * The source disk as the VM record names it (a managed disk id in Azure); absent on items made
   * before it was kept, whose disks are the local `disks/{rg}/{vm}/{name}`.
   */
  blob?: BlobRef;
  /** The OS disk's operating system, when the fabric knows it (Azure does); failover needs it there. */
  osType?: 'Linux' | 'Windows';
}

export interface ReplicationStats {
  deltasApplied: number;
  /** Bytes of writes (data and zeroed ranges) applied to the replicas. */
  bytesApplied: number;
  /** Applied time − source write time of the newest write, at the last apply. */
  lagMs?: number;
  /** Moving average of bytes written per second at the source. */
  churnBytesPerSecond?: number;
}

/** How a protected item's recovery points are kept (docs/recovery-points.md). */
export interface ReplicationPolicy {
  /** How long recovery points are kept, in hours: 0 (only the latest point) to 360 (15 days). */
  retentionHours: number;
  /** Minutes between app-consistent points: 0 (off) or 60 to 720. */
  appConsistentFrequencyMinutes: number;
}

/** Where a protected item fails over to (set by enable-replication; docs/workflows.md). */
export interface ProtectionTarget {
  region: string;
  resourceGroup: string;
  vnet: { resourceGroup: string; name: string };
  availabilitySet?: string;
}

/**
 * The source VM as enable-replication found it, kept on the item so failover needs nothing from the
 * source region (which may be down).
 */
export interface SourceVmInfo {
  region: string;
  size: string;
  /** The primary NIC's subnet; failover uses the subnet of the same name in the mapped VNet. */
  vnet: { resourceGroup: string; name: string };
  subnet: string;
  privateIp: string;
  availabilitySet?: string;
}

/**
 * The workflow that holds the item. A start request claims the item (ETag-conditional) before it
 * starts the job, so two conflicting workflows never run at once; the job releases it when it ends.
 */
export interface ActiveJob {
  id: string;
  /** A JobKind (shared/jobs/types.ts). */
  kind: string;
  /** When it was claimed (ms); a claim whose job never started is stale after a grace period. */
  claimedAt: number;
  /** The state to go back to when the job fails. */
  previousState: ProtectedItemState;
}

/** A VM that a workflow made in a region. */
export interface VmRef {
  region: string;
  resourceGroup: string;
  name: string;
}

/** The last (non-test) failover: the point it used and the VM it made or updated. */
export interface FailoverRecord {
  jobId: string;
  /** The recovery-point choice as asked: `latest`, `latestProcessed`, ..., `id:rp-1-7`, `time:ISO`. */
  choice: string;
  pointId: string;
  /** Source time (ms) the failed-over disks are consistent as of. */
  pointTime: number;
  vm: VmRef;
  /** When the VM was started (ms). */
  at: number;
  /** Why the choice was changed (e.g. `latest` fell back to `latestProcessed`). */
  note?: string;
}

/** What a test failover made, so cleanup removes exactly that. */
export interface TestFailoverRecord {
  jobId: string;
  choice: string;
  pointId: string;
  pointTime: number;
  vm: VmRef;
  nic: { resourceGroup: string; name: string };
  vnet: { resourceGroup: string; name: string };
  /** Whether the test failover created the VNet (then cleanup deletes it). */
  createdVnet: boolean;
  /** Disk blob names in the target region's `disks` container. */
  diskBlobs: string[];
  at: number;
}

export const ITEM_HEALTH = ['Healthy', 'Warning', 'Critical'] as const;

export type ItemHealth = (typeof ITEM_HEALTH)[number];

export interface ProtectedItem {
  resourceGroup: string;
  vm: string;
  state: ProtectedItemState;
  /** Replication generation; deltas of another generation are never applied. */
  generation: number;
  disks: ReplicatedDiskInfo[];
  /** Whether the applier may write replicas (false during initial replication and resync). */
  applyEnabled: boolean;
  /** Highest delta sequence applied to the replicas. */
  watermark: number;
  /** Source write time (ms) up to which the replicas are complete. */
  watermarkTime?: number;
  /** When the last delta was applied (ms). */
  lastAppliedAt?: number;
  /** Sequence of the last app-consistent delta applied. */
  lastAppConsistentSequence?: number;
  /**
   * Source time (the agent's clock) after which the replicas are crash-consistent: they were copied
   * from the source while the agent journaled (initial replication, reprotect's sync), so until the
   * watermark's time passes this, they may hold a write the copy read whose predecessors still wait
   * in the cache. No recovery point is cut before (shared/recoveryPoints/cut.ts).
   */
  consistentAfter?: number;
  /** Why a resync is needed, when state is ResyncRequired. */
  resyncReason?: string;
  stats?: ReplicationStats;
  /** Retention and app-consistent frequency; defaults apply to what is missing. */
  policy?: Partial<ReplicationPolicy>;
  /** Now − source time of the newest applied write, at the last apply or recovery-point run. */
  rpoSeconds?: number;
  health?: ItemHealth;
  /** Why health is not Healthy, in words. */
  healthReasons?: string[];
  /** When the newest recovery point was cut (ms), as the last recovery-point run saw it. */
  lastRecoveryPointAt?: number;
  /** When the agent was last asked for an app-consistent bookmark (ms). */
  appConsistentRequestedAt?: number;
  /** The target region's resource group, VNet and availability set for failover. */
  target?: ProtectionTarget;
  sourceVm?: SourceVmInfo;
  activeJob?: ActiveJob;
  failover?: FailoverRecord;
  testFailover?: TestFailoverRecord;
  /** For an item made by reprotect: the original VM, which failback fails over onto. */
  failbackTo?: VmRef;
  etag?: string;
}

/** Item fields kept as JSON strings in the table. */
const JSON_FIELDS = ['sourceVm', 'activeJob', 'failover', 'testFailover', 'failbackTo'] as const;
type JsonField = (typeof JSON_FIELDS)[number];

interface ProtectedItemEntity {
  partitionKey: string;
  rowKey: string;
  state: string;
  generation: number;
  disks: string;
  applyEnabled: boolean;
  watermark: number;
  watermarkTime?: number;
  lastAppliedAt?: number;
  lastAppConsistentSequence?: number;
  consistentAfter?: number;
  resyncReason?: string;
  stats?: string;
  policy?: string;
  rpoSeconds?: number;
  health?: string;
  healthReasons?: string;
  lastRecoveryPointAt?: number;
  appConsistentRequestedAt?: number;
  target?: string;
  sourceVm?: string;
  activeJob?: string;
  failover?: string;
  testFailover?: string;
  failbackTo?: string;
}

export interface ProtectedItemStore {
  get(resourceGroup: string, vm: string): Promise<ProtectedItem | undefined>;
  list(resourceGroup?: string): Promise<ProtectedItem[]>;
  /** Creates the item; Conflict if it exists. */
  create(item: ProtectedItem): Promise<ProtectedItem>;
  /** Merges `patch` into the item if its ETag is still `item.etag`; Conflict otherwise. */
  update(
    item: ProtectedItem,
    patch: Partial<Omit<ProtectedItem, 'resourceGroup' | 'vm' | 'etag'>>,
  ): Promise<ProtectedItem>;
  delete(item: ProtectedItem): Promise<void>;
}

/** Whether deltas are applied to the item's replicas now (and so points can be cut). */
export function isReplicating(item: ProtectedItem): boolean {
  return item.applyEnabled && item.state !== 'ResyncRequired' && item.state !== 'Disabling';
}

function toEntity(item: ProtectedItem): ProtectedItemEntity {
  const entity: ProtectedItemEntity = {
    partitionKey: item.resourceGroup,
    rowKey: item.vm,
    state: item.state,
    generation: item.generation,
    disks: JSON.stringify(item.disks),
    applyEnabled: item.applyEnabled,
    watermark: item.watermark,
  };
  if (item.watermarkTime !== undefined) entity.watermarkTime = item.watermarkTime;
  if (item.lastAppliedAt !== undefined) entity.lastAppliedAt = item.lastAppliedAt;
  if (item.lastAppConsistentSequence !== undefined)
    entity.lastAppConsistentSequence = item.lastAppConsistentSequence;
  if (item.consistentAfter !== undefined) entity.consistentAfter = item.consistentAfter;
  if (item.resyncReason !== undefined) entity.resyncReason = item.resyncReason;
  if (item.stats !== undefined) entity.stats = JSON.stringify(item.stats);
  if (item.policy !== undefined) entity.policy = JSON.stringify(item.policy);
  if (item.rpoSeconds !== undefined) entity.rpoSeconds = item.rpoSeconds;
  if (item.health !== undefined) entity.health = item.health;
  if (item.healthReasons !== undefined) entity.healthReasons = JSON.stringify(item.healthReasons);
  if (item.lastRecoveryPointAt !== undefined) entity.lastRecoveryPointAt = item.lastRecoveryPointAt;
  if (item.appConsistentRequestedAt !== undefined)
    entity.appConsistentRequestedAt = item.appConsistentRequestedAt;
  if (item.target !== undefined) entity.target = JSON.stringify(item.target);
  for (const field of JSON_FIELDS) {
    if (item[field] !== undefined) entity[field] = JSON.stringify(item[field]);
  }
  return entity;
}

function optionalNumber(value: unknown): number | undefined {
  return value === undefined || value === null ? undefined : Number(value);
}

function fromEntity(e: ProtectedItemEntity & { etag?: string }): ProtectedItem {
  return {
    resourceGroup: e.partitionKey,
    vm: e.rowKey,
    state: e.state as ProtectedItemState,
    generation: Number(e.generation),
    disks: JSON.parse(e.disks) as ReplicatedDiskInfo[],
    applyEnabled: Boolean(e.applyEnabled),
    watermark: Number(e.watermark),
    watermarkTime: e.watermarkTime === undefined ? undefined : Number(e.watermarkTime),
    lastAppliedAt: e.lastAppliedAt === undefined ? undefined : Number(e.lastAppliedAt),
    lastAppConsistentSequence:
      e.lastAppConsistentSequence === undefined ? undefined : Number(e.lastAppConsistentSequence),
    consistentAfter: optionalNumber(e.consistentAfter),
    resyncReason: e.resyncReason,
    stats: e.stats === undefined ? undefined : (JSON.parse(e.stats) as ReplicationStats),
    policy: e.policy === undefined ? undefined : (JSON.parse(e.policy) as Partial<ReplicationPolicy>),
    rpoSeconds: optionalNumber(e.rpoSeconds),
    health: e.health as ItemHealth | undefined,
    healthReasons: e.healthReasons === undefined ? undefined : (JSON.parse(e.healthReasons) as string[]),
    lastRecoveryPointAt: optionalNumber(e.lastRecoveryPointAt),
    appConsistentRequestedAt: optionalNumber(e.appConsistentRequestedAt),
    target: e.target === undefined ? undefined : (JSON.parse(e.target) as ProtectionTarget),
    ...jsonFields(e),
    etag: e.etag,
  };
}

function jsonFields(e: ProtectedItemEntity): Pick<ProtectedItem, JsonField> {
  const out: Record<string, unknown> = {};
  for (const field of JSON_FIELDS) {
    const text = e[field];
    if (text !== undefined && text !== null) out[field] = JSON.parse(text) as unknown;
  }
  return out as Pick<ProtectedItem, JsonField>;
}

function conflict(item: { resourceGroup: string; vm: string }, cause: unknown): TidemarkError {
  return new TidemarkError('Conflict', `Protected item ${item.resourceGroup}/${item.vm} changed meanwhile.`, {
    cause,
    retryable: true,
    hint: 'Read it again and retry.',
  });
}

export class TableProtectedItemStore implements ProtectedItemStore {
  #ready?: Promise<unknown>;

  constructor(private readonly table: TableClient) {}

  static fromConnectionString(connectionString: string): TableProtectedItemStore {
    return new TableProtectedItemStore(
      TableClient.fromConnectionString(connectionString, TABLES.protectedItems, {
        allowInsecureConnection: true,
      }),
    );
  }

  #ensure(): Promise<unknown> {
    return (this.#ready ??= this.table.createTable().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    }));
  }

  async get(resourceGroup: string, vm: string): Promise<ProtectedItem | undefined> {
    await this.#ensure();
    try {
      return fromEntity(await this.table.getEntity<ProtectedItemEntity>(resourceGroup, vm));
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  async list(resourceGroup?: string): Promise<ProtectedItem[]> {
    await this.#ensure();
    const out: ProtectedItem[] = [];
    const filter = resourceGroup === undefined ? undefined : odata`PartitionKey eq ${resourceGroup}`;
    for await (const e of this.table.listEntities<ProtectedItemEntity>({ queryOptions: { filter } })) {
      out.push(fromEntity(e));
    }
    return out;
  }

  async create(item: ProtectedItem): Promise<ProtectedItem> {
    await this.#ensure();
    try {
      const res = await this.table.createEntity(toEntity(item));
      return { ...item, etag: res.etag };
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 409) {
        throw new TidemarkError('Conflict', `${item.resourceGroup}/${item.vm} is already a protected item.`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  async update(
    item: ProtectedItem,
    patch: Partial<Omit<ProtectedItem, 'resourceGroup' | 'vm' | 'etag'>>,
  ): Promise<ProtectedItem> {
    await this.#ensure();
    const next: ProtectedItem = { ...item, ...patch };
    try {
      // Replace (not merge) so fields cleared in the patch (e.g. resyncReason) really go away.
      const res = await this.table.updateEntity(toEntity(next), 'Replace', { etag: item.etag ?? '*' });
      return { ...next, etag: res.etag };
    } catch (err) {
      if (err instanceof RestError && (err.statusCode === 412 || err.statusCode === 409))
        throw conflict(item, err);
      throw err;
    }
  }

  async delete(item: ProtectedItem): Promise<void> {
    await this.#ensure();
    try {
      await this.table.deleteEntity(item.resourceGroup, item.vm, { etag: item.etag ?? '*' });
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return;
      if (err instanceof RestError && err.statusCode === 412) throw conflict(item, err);
      throw err;
    }
  }
}
