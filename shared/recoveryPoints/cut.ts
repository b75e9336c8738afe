/**
 * Cutting a recovery point: under the VM's lease (so between deltas, never inside one), one snapshot
 * of every replica disk at the current watermark, then the catalog row. One point per watermark: a
 * second cut at the same watermark changes nothing, except that an app-consistent cut turns a
 * crash-consistent point at that watermark app-consistent (same bytes). A point is also
 * app-consistent when the watermark is the agent's last app-consistent bookmark, so a failed cut in
 * the applier's hook is made good by the next timer run. Snapshots come before the row, so no row
 * ever names a snapshot that is not there yet; at the snapshot cap, room is made first.
 */
import type { ContainerClient } from '@azure/storage-blob';

import type { Clock } from '../clock';
import type { Logger } from '../logger';
import { isReplicating, type ProtectedItem, type ProtectedItemStore } from '../protectedItems';
import { VmLocks } from '../replication/vmLease';
import type { RecoveryPointCatalog } from './catalog';
import { effectivePolicy } from './policy';
import { deletePoints } from './prune';
import { retain } from './retention';
import { snapshotDisks } from './snapshots';
import { MAX_SNAPSHOTS_PER_DISK, type RecoveryPoint, recoveryPointId, type RecoveryPointType } from './types';

/**
 * Brings the replicas level with the watermark under the held lease: applies the deltas next in the
 * cache (buildApplier's `catchUp`). An apply that died between writing pages and moving the
 * watermark (a host crash, a failed ETag-checked update) leaves the replicas ahead of the watermark;
 * a snapshot then would hold part of a delta the point does not name.
 */
export type CatchUp = (item: ProtectedItem, leaseLost: () => boolean) => Promise<void>;

export interface CutDeps {
  replicas: ContainerClient;
  catalog: RecoveryPointCatalog;
  clock: Clock;
  logger?: Logger;
  /** Most points (snapshots per disk) a VM may have; default 100. */
  maxPoints?: number;
  /**
   * cutRecoveryPoint runs it after taking the lease, before cutting (the app always passes it;
   * without it the replicas are trusted to be level with the watermark). cutHeld never does: its
   * callers (the applier's hooks) have just applied a batch.
   */
  catchUp?: CatchUp;
}

export type CutResult =
  /** `points`: the VM's points after the cut, newest first. */
  | { outcome: 'cut' | 'upgraded' | 'unchanged'; point: RecoveryPoint; points: RecoveryPoint[] }
  /**
   * Nothing applied yet (watermark 0), or not yet past the end of the initial copy
   * (`item.consistentAfter`): the replica has never been made consistent.
   */
  | { outcome: 'nothingApplied' }
  /** cutRecoveryPoint only: another holder kept the lease, or the item is not replicating. */
  | { outcome: 'busy' | 'notReplicating' };

/** Cuts a point at `item`'s watermark; the caller holds the VM's lease and `item` is current. */
export async function cutHeld(
  deps: CutDeps,
  item: ProtectedItem,
  type: RecoveryPointType,
): Promise<CutResult> {
  const { resourceGroup, vm } = item;
  if (item.watermark < 1 || item.watermarkTime === undefined) return { outcome: 'nothingApplied' };
  if (item.consistentAfter !== undefined && item.watermarkTime <= item.consistentAfter) {
    return { outcome: 'nothingApplied' };
  }
  const appConsistent = type === 'AppConsistent' || item.lastAppConsistentSequence === item.watermark;
  const points = await deps.catalog.list(resourceGroup, vm);
  const same = points.find((p) => p.generation === item.generation && p.sequence === item.watermark);
  if (same) {
    if (!appConsistent || same.type === 'AppConsistent') return { outcome: 'unchanged', point: same, points };
    const point: RecoveryPoint = { ...same, type: 'AppConsistent' };
    await deps.catalog.put(point);
    return { outcome: 'upgraded', point, points: points.map((p) => (p === same ? point : p)) };
  }
  const maxPoints = deps.maxPoints ?? MAX_SNAPSHOTS_PER_DISK;
  let kept = points;
  if (points.length >= maxPoints) {
    const room = retain(points, effectivePolicy(item.policy), { maxPoints: maxPoints - 1 });
    await deletePoints(deps, room.prune);
    kept = room.keep;
  }
  const id = recoveryPointId(item.generation, item.watermark);
  const disks = await snapshotDisks(deps.replicas, resourceGroup, vm, item.disks, id);
  const point: RecoveryPoint = {
    resourceGroup,
    vm,
    id,
    type: appConsistent ? 'AppConsistent' : 'CrashConsistent',
    generation: item.generation,
    sequence: item.watermark,
    time: item.watermarkTime,
    cutAt: deps.clock.now(),
    disks,
  };
  await deps.catalog.put(point);
  deps.logger?.debug('Cut a recovery point', { vm: `${resourceGroup}/${vm}`, id, type: point.type });
  return { outcome: 'cut', point, points: [point, ...kept] };
}

/** Takes the VM's lease (waiting up to `leaseWaitMs`), then cuts a point at the current watermark. */
export async function cutRecoveryPoint(
  deps: CutDeps & { locks: ContainerClient; items: ProtectedItemStore },
  resourceGroup: string,
  vm: string,
  type: RecoveryPointType,
  options: { leaseWaitMs?: number } = {},
): Promise<CutResult> {
  const lease = await new VmLocks(deps.locks, deps.clock).acquire(
    resourceGroup,
    vm,
    options.leaseWaitMs ?? 30_000,
  );
  if (!lease) return { outcome: 'busy' };
  try {
    let item = await deps.items.get(resourceGroup, vm);
    if (!item || !isReplicating(item)) return { outcome: 'notReplicating' };
    if (deps.catchUp) {
      await deps.catchUp(item, () => lease.lost);
      item = await deps.items.get(resourceGroup, vm);
      if (!item || !isReplicating(item)) return { outcome: 'notReplicating' };
    }
    return await cutHeld(deps, item, type);
  } finally {
    await lease.release();
  }
}
