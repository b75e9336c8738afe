/**
 * "Synchronizing latest data" (recovery point `latest`): with the source region reachable, every
 * delta waiting in the cache is applied and a crash-consistent point is cut at the watermark; that
 * point is the one failed over to. Otherwise (source down, replication stopped) it falls back to the
 * newest point and says why. Idempotent: a second drain applies nothing, a second cut at the same
 * watermark returns the same point.
 */
import { SystemClock } from '../../shared/clock';
import { TidemarkError } from '../../shared/errors';
import { checkClaimed } from '../../shared/jobs/claims';
import type { Logger } from '../../shared/logger';
import { isReplicating } from '../../shared/protectedItems';
import { probeRegion } from '../../shared/regionHealth';
import { cutRecoveryPoint } from '../../shared/recoveryPoints/cut';
import { buildApplier } from '../../shared/replication/buildApplier';
import { latestFallbackNote, newestPoint } from '../../shared/workflows/failoverPoint';
import { workflowServices } from '../../shared/workflows/services';
import type { PlannedRef, SyncOutcome } from './types';

const LEASE_WAIT_MS = 10_000;
const CUT_LEASE_WAIT_MS = 30_000;
const PROBE_TIMEOUT_MS = 3_000;

export async function syncLatest({ ref, plan }: PlannedRef, log: Logger): Promise<SyncOutcome> {
  const s = workflowServices(ref.direction);
  const item = checkClaimed(await s.items.get(ref.resourceGroup, ref.vm), ref, ref.jobId);
  const fallback = async (reason: string): Promise<SyncOutcome> => {
    const point = newestPoint(await s.points.catalog.list(ref.resourceGroup, ref.vm), plan.vmId);
    const note = latestFallbackNote(reason);
    log.warn('Failover to "latest" falls back to the newest point', {
      vm: plan.vmId,
      point: point.id,
      reason,
    });
    return { pointId: point.id, note };
  };
  const unreachable = (error?: string): string =>
    `the source region ${plan.sourceRegion} does not answer (${error ?? 'no answer'}), so the data still in its cache can't be read`;

  if (!plan.sourceReachable) return fallback(unreachable(plan.sourceError));
  if (plan.changingPoint) {
    return fallback(
      `replication stopped when VM ${plan.vmId} failed over (job ${plan.previous?.jobId ?? 'unknown'}), so there is nothing newer to synchronize`,
    );
  }
  if (!isReplicating(item)) {
    const why = item.resyncReason ? `: ${item.resyncReason}` : '';
    return fallback(`replication of VM ${plan.vmId} is not running (${item.state}${why})`);
  }

  const clock = new SystemClock();
  const { applier, catchUp } = buildApplier(s.config, { clock, logger: log, leaseWaitMs: LEASE_WAIT_MS });
  try {
    const drained = await applier.drain(ref.resourceGroup, ref.vm);
    log.info('Drained the cache for failover', { vm: plan.vmId, outcome: drained.outcome });
  } catch (err) {
    const probe = await probeRegion(s.config.source, PROBE_TIMEOUT_MS);
    if (!probe.reachable) return fallback(unreachable(probe.error));
    throw err;
  }
  const cut = await cutRecoveryPoint(
    { ...s.points, clock, logger: log, catchUp },
    ref.resourceGroup,
    ref.vm,
    'CrashConsistent',
    { leaseWaitMs: CUT_LEASE_WAIT_MS },
  );
  switch (cut.outcome) {
    case 'cut':
    case 'unchanged':
    case 'upgraded':
      return { pointId: cut.point.id };
    case 'busy':
      throw new TidemarkError('Timeout', `The lease of VM ${plan.vmId} stayed taken; no point could be cut.`);
    case 'nothingApplied':
      return fallback(`nothing of VM ${plan.vmId} has been applied yet`);
    case 'notReplicating':
      return fallback(`replication of VM ${plan.vmId} stopped meanwhile`);
  }
}
