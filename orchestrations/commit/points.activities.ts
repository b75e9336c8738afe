/**
 * Commit's "Deleting recovery points": under the VM's lease, every point's catalog row, then its
 * snapshots (prune.ts's order, so no reader finds a point whose snapshot is gone), then any snapshot
 * of the replicas no row names, then the VM's journal. A re-run finds less to delete, and is done.
 */
import type { ContainerClient } from '@azure/storage-blob';
import pLimit from 'p-limit';

import { SystemClock } from '../../shared/clock';
import { deltaBlobPrefix } from '../../shared/delta';
import { TidemarkError } from '../../shared/errors';
import { checkClaimed } from '../../shared/jobs/claims';
import type { Logger } from '../../shared/logger';
import { deletePoints } from '../../shared/recoveryPoints/prune';
import { deleteSnapshots, orphanSnapshots } from '../../shared/recoveryPoints/snapshots';
import { VmLocks } from '../../shared/replication/vmLease';
import { workflowServices } from '../../shared/workflows/services';
import type { ClaimedRef } from '../claimedJob';
import type { DeletedPoints } from './types';

const LEASE_WAIT_MS = 30_000;
const DELETE_CONCURRENCY = 16;

async function deleteJournal(journal: ContainerClient, resourceGroup: string, vm: string): Promise<number> {
  if (!(await journal.exists())) return 0;
  const limit = pLimit(DELETE_CONCURRENCY);
  const deletions: Promise<unknown>[] = [];
  for await (const blob of journal.listBlobsFlat({ prefix: deltaBlobPrefix({ resourceGroup, vm }) })) {
    deletions.push(limit(() => journal.getBlobClient(blob.name).deleteIfExists()));
  }
  await Promise.all(deletions);
  return deletions.length;
}

export async function deleteAllPoints(ref: ClaimedRef, log: Logger): Promise<DeletedPoints> {
  const s = workflowServices(ref.direction);
  checkClaimed(await s.items.get(ref.resourceGroup, ref.vm), ref, ref.jobId);
  const { replicas, journal, catalog, locks } = s.points;
  const lease = await new VmLocks(locks, new SystemClock()).acquire(ref.resourceGroup, ref.vm, LEASE_WAIT_MS);
  if (!lease) {
    throw new TidemarkError('Timeout', `The lease of VM ${ref.resourceGroup}/${ref.vm} stayed taken.`, {
      retryable: true,
    });
  }
  try {
    const points = await catalog.list(ref.resourceGroup, ref.vm);
    await deletePoints({ replicas, catalog }, points);
    const orphans = (await replicas.exists())
      ? await orphanSnapshots(replicas, ref.resourceGroup, ref.vm, [])
      : [];
    await deleteSnapshots(replicas, ref.resourceGroup, ref.vm, orphans);
    const journalBlobs = await deleteJournal(journal, ref.resourceGroup, ref.vm);
    const deleted = {
      points: points.length,
      snapshots: points.reduce((n, p) => n + p.disks.length, 0) + orphans.length,
      journalBlobs,
    };
    log.info('Recovery points deleted', { vm: `${ref.resourceGroup}/${ref.vm}`, ...deleted });
    return deleted;
  } finally {
    await lease.release();
  }
}
