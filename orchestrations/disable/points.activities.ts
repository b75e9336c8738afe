/**
 * "Removing replicas and recovery points", first part: every recovery point of the VM, its catalog
 * row first and then its snapshots (shared/recoveryPoints/prune.ts), so no reader ever finds a point
 * whose snapshot is gone. Under the VM's lease: an apply or a cut that began before this job claimed
 * the item ends first, and none starts after (the item is Disabling, which is not replicating).
 * Idempotent: a second run finds fewer points, or none.
 */
import { SystemClock } from '../../shared/clock';
import { TidemarkError } from '../../shared/errors';
import { deletePoints } from '../../shared/recoveryPoints/prune';
import { VmLocks } from '../../shared/replication/vmLease';
import { workflowServices } from '../../shared/workflows/services';
import type { ClaimedRef } from '../claimedJob';
import { claimedItem } from './prerequisites.activities';

const LEASE_WAIT_MS = 60_000;

export async function removePoints(ref: ClaimedRef): Promise<{ recoveryPoints: number }> {
  const { points } = workflowServices(ref.direction);
  await claimedItem(ref);
  const lease = await new VmLocks(points.locks, new SystemClock()).acquire(
    ref.resourceGroup,
    ref.vm,
    LEASE_WAIT_MS,
  );
  if (!lease) {
    // A system error: the orchestration retries it.
    throw new TidemarkError(
      'Timeout',
      `The lease of VM ${ref.resourceGroup}/${ref.vm} stayed taken for ${LEASE_WAIT_MS / 1000} s (a delta apply or a recovery-point cut).`,
      { hint: 'Run disable replication again in a minute.' },
    );
  }
  try {
    await claimedItem(ref);
    const list = await points.catalog.list(ref.resourceGroup, ref.vm);
    await deletePoints(points, list);
    return { recoveryPoints: list.length };
  } finally {
    await lease.release();
  }
}
