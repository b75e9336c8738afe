/**
 * A busy applier holds a VM's lease for as long as deltas keep arriving, and the timer, which needs
 * that lease, then cuts nothing. So between batches the applier cuts a crash-consistent point itself
 * once the point interval has passed since the last one: RPO keeps its points however far behind
 * replication runs.
 */
import { ensureError } from '../errors';
import type { ProtectedItem, ProtectedItemStore } from '../protectedItems';
import { type CutDeps, cutHeld } from './cut';

/** The applier's onBatchApplied: never fails the apply. */
export function duePointCutter(
  deps: CutDeps & { items: ProtectedItemStore },
  intervalMs: number,
): (item: ProtectedItem) => Promise<ProtectedItem> {
  return async (item) => {
    const now = deps.clock.now();
    if (item.lastRecoveryPointAt !== undefined && now - item.lastRecoveryPointAt < intervalMs) return item;
    try {
      const result = await cutHeld(deps, item, 'CrashConsistent');
      if (result.outcome !== 'cut' && result.outcome !== 'upgraded') return item;
      deps.logger?.info('Cut a due recovery point between batches', {
        vm: `${item.resourceGroup}/${item.vm}`,
        id: result.point.id,
      });
      return await deps.items.update(item, { lastRecoveryPointAt: result.point.cutAt });
    } catch (err) {
      deps.logger?.warn('Could not cut a due recovery point between batches; the timer will', {
        vm: `${item.resourceGroup}/${item.vm}`,
        error: ensureError(err).message,
      });
      return item;
    }
  };
}
