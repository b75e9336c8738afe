/**
 * "Synchronizing latest data" (recovery point `latest`): every delta the agent has shipped is
 * applied (the cache drained), then a crash-consistent point is cut at the new watermark. When no
 * point can be cut (replication is not running, or the VM's lease stayed busy), the newest processed
 * point is used and the step says why. Idempotent: draining applies only what is next, and a second
 * cut at the same watermark changes nothing.
 */
import { SystemClock } from '../../shared/clock';
import type { Logger } from '../../shared/logger';
import { cutRecoveryPoint } from '../../shared/recoveryPoints/cut';
import { buildApplier } from '../../shared/replication/buildApplier';
import type { ClaimedRef } from '../claimedJob';
import { claimedServices } from './services.activities';
import type { SyncResult } from './types';

const LEASE_WAIT_MS = 10_000;

export async function synchronizeLatest(ref: ClaimedRef, log: Logger): Promise<SyncResult> {
  const { s } = await claimedServices(ref);
  const clock = new SystemClock();
  const { applier, catchUp } = buildApplier(s.config, { clock, logger: log, leaseWaitMs: LEASE_WAIT_MS });
  await applier.drain(ref.resourceGroup, ref.vm);
  const cut = await cutRecoveryPoint(
    { ...s.points, clock, logger: log, catchUp },
    ref.resourceGroup,
    ref.vm,
    'CrashConsistent',
    { leaseWaitMs: LEASE_WAIT_MS },
  );
  const watermark = (await s.items.get(ref.resourceGroup, ref.vm))?.watermark ?? 0;
  if (cut.outcome === 'cut' || cut.outcome === 'unchanged' || cut.outcome === 'upgraded') {
    log.info('Cut the latest recovery point for a test failover', {
      vm: `${ref.resourceGroup}/${ref.vm}`,
      point: cut.point.id,
    });
    return { watermark, pointId: cut.point.id };
  }
  const why = {
    busy: 'the VM’s replication lease stayed busy',
    notReplicating: 'replication of the VM is not running (it needs a resync)',
    nothingApplied: 'no delta of the VM has been applied yet',
  }[cut.outcome];
  return {
    watermark,
    note: `No new recovery point could be cut (${why}); the latest processed point is used.`,
  };
}
