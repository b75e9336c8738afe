/**
 * The applier as the app runs it: stores from the settings, app-consistent points cut right after
 * app-consistent deltas, and a due crash-consistent point between batches when the applier is busy.
 */
import type { Clock } from '../clock';
import type { TidemarkConfig } from '../config';
import type { Logger } from '../logger';
import { appConsistentCutter } from '../recoveryPoints/appConsistent';
import type { CatchUp } from '../recoveryPoints/cut';
import { duePointCutter } from '../recoveryPoints/duePoint';
import { type RecoveryPointStores, recoveryPointStores } from '../recoveryPoints/stores';
import { type ApplierStores, DeltaApplier } from './applier';
import { applierStores } from './stores';

/** Site Recovery cuts crash-consistent points every 5 minutes. */
export const POINT_INTERVAL_MS = 5 * 60_000;

const cached = new Map<TidemarkConfig, { stores: ApplierStores; points: RecoveryPointStores }>();

export function buildApplier(
  config: TidemarkConfig,
  options: { clock: Clock; logger: Logger; leaseWaitMs?: number },
): { applier: DeltaApplier; stores: ApplierStores; catchUp: CatchUp } {
  let entry = cached.get(config);
  if (!entry) {
    entry = { stores: applierStores(config), points: recoveryPointStores(config) };
    cached.set(config, entry);
  }
  const cut = { ...entry.points, clock: options.clock, logger: options.logger };
  const applier = new DeltaApplier(entry.stores, {
    clock: options.clock,
    logger: options.logger,
    leaseWaitMs: options.leaseWaitMs,
    onAppConsistent: appConsistentCutter(cut),
    onBatchApplied: duePointCutter(cut, POINT_INTERVAL_MS),
  });
  const catchUp: CatchUp = async (item, leaseLost) => {
    await applier.catchUpHeld(item.resourceGroup, item.vm, leaseLost);
  };
  return { applier, stores: entry.stores, catchUp };
}
