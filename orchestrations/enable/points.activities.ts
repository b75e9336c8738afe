/**
 * Continuous replication's start and the first recovery point. Both drain the cache first: the
 * deltas the agent shipped during the initial copy wait there (apply was off) and would otherwise
 * wait for the next blob event or the 30 s sweep. Idempotent: draining applies only what is next,
 * and a second cut at the same watermark changes nothing.
 */
import { SystemClock } from '../../shared/clock';
import { silentLogger } from '../../shared/logger';
import { cutRecoveryPoint } from '../../shared/recoveryPoints/cut';
import { recoveryPointStores } from '../../shared/recoveryPoints/stores';
import { buildApplier } from '../../shared/replication/buildApplier';
import { enableServices } from './services.activities';
import type { FirstPointResult, VmGeneration } from './types';

const LEASE_WAIT_MS = 10_000;

/** Applies every delta of the VM that is next in the cache; returns the watermark. */
export async function drain(ref: VmGeneration): Promise<number> {
  const s = enableServices(ref.direction);
  const { applier } = buildApplier(s.config, {
    clock: new SystemClock(),
    logger: silentLogger,
    leaseWaitMs: LEASE_WAIT_MS,
  });
  await applier.drain(ref.resourceGroup, ref.vm);
  return (await s.items.get(ref.resourceGroup, ref.vm))?.watermark ?? 0;
}

/** Drains, then cuts a crash-consistent point once a delta is applied (outcome nothingApplied before). */
export async function cutFirstPoint(ref: VmGeneration): Promise<FirstPointResult> {
  const watermark = await drain(ref);
  if (watermark < 1) return { outcome: 'nothingApplied', watermark };
  const config = enableServices(ref.direction).config;
  const clock = new SystemClock();
  const { catchUp } = buildApplier(config, { clock, logger: silentLogger, leaseWaitMs: LEASE_WAIT_MS });
  const cut = await cutRecoveryPoint(
    { ...recoveryPointStores(config), clock, logger: silentLogger, catchUp },
    ref.resourceGroup,
    ref.vm,
    'CrashConsistent',
    { leaseWaitMs: LEASE_WAIT_MS },
  );
  if (cut.outcome === 'cut' || cut.outcome === 'unchanged' || cut.outcome === 'upgraded') {
    return { outcome: cut.outcome, watermark, pointId: cut.point.id, cutAt: cut.point.cutAt };
  }
  return { outcome: cut.outcome, watermark };
}
