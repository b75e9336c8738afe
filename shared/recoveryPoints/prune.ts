/**
 * Applies retention to a VM's recovery points: each pruned point's catalog row goes first, then its
 * snapshots, so no reader ever finds a point whose snapshot is gone (a crash in between leaves only
 * orphan snapshots, which the next prune removes). Then the journal deltas nothing can need any more.
 * Call it with the VM's lease held: orphans are told apart from a cut in progress by that.
 */
import type { ContainerClient } from '@azure/storage-blob';

import type { Logger } from '../logger';
import type { ReplicationPolicy } from '../protectedItems';
import type { RecoveryPointCatalog } from './catalog';
import { pruneJournal } from './journalPrune';
import { retain } from './retention';
import { deleteSnapshots, orphanSnapshots } from './snapshots';
import type { RecoveryPoint } from './types';

export interface PruneDeps {
  replicas: ContainerClient;
  journal: ContainerClient;
  catalog: RecoveryPointCatalog;
  logger?: Logger;
}

export interface PruneResult {
  kept: RecoveryPoint[];
  pruned: RecoveryPoint[];
  orphanSnapshots: number;
  journalDeleted: number;
}

/** Deletes points: all their rows, then all their snapshots. */
export async function deletePoints(
  deps: Pick<PruneDeps, 'replicas' | 'catalog'>,
  points: readonly RecoveryPoint[],
): Promise<void> {
  await Promise.all(points.map((p) => deps.catalog.delete(p)));
  await Promise.all(points.map((p) => deleteSnapshots(deps.replicas, p.resourceGroup, p.vm, p.disks)));
}

export async function prunePoints(
  deps: PruneDeps,
  vm: { resourceGroup: string; vm: string },
  policy: ReplicationPolicy,
  options: { maxPoints?: number; points?: RecoveryPoint[] } = {},
): Promise<PruneResult> {
  const points = options.points ?? (await deps.catalog.list(vm.resourceGroup, vm.vm));
  const { keep, prune } = retain(points, policy, { maxPoints: options.maxPoints });
  await deletePoints(deps, prune);
  const orphans = await orphanSnapshots(deps.replicas, vm.resourceGroup, vm.vm, keep);
  await deleteSnapshots(deps.replicas, vm.resourceGroup, vm.vm, orphans);
  const journalDeleted = await pruneJournal(deps.journal, vm.resourceGroup, vm.vm, keep);
  if (prune.length || orphans.length || journalDeleted) {
    deps.logger?.debug('Pruned recovery points', {
      vm: `${vm.resourceGroup}/${vm.vm}`,
      pruned: prune.map((p) => p.id),
      orphanSnapshots: orphans.length,
      journalDeleted,
    });
  }
  return { kept: keep, pruned: prune, orphanSnapshots: orphans.length, journalDeleted };
}
