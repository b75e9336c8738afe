/**
 * The protected item's state around a test failover. While the test VM exists the item is
 * TestFailedOver (replication goes on); cleanup gives back the state from before, kept in the record:
 * Protected, or ResyncRequired when it was. If the applier found a bad delta meanwhile (the item went
 * ResyncRequired while the job held it), that wins: the resync is still needed.
 */
import type { ProtectedItem, ProtectedItemState, TestFailoverRecord } from '../protectedItems';

/** The record as it is stored: what the test failover made, and the state to come back to. */
export interface StoredTestFailover extends TestFailoverRecord {
  previousState?: ProtectedItemState;
}

const RETURNABLE: readonly ProtectedItemState[] = ['Protected', 'ResyncRequired'];

function resyncNeeded(item: ProtectedItem): boolean {
  return item.state === 'ResyncRequired';
}

/** The state cleanup returns to, decided when the test failover ends (item as the job holds it). */
export function stateBeforeTestFailover(item: ProtectedItem): ProtectedItemState {
  if (resyncNeeded(item)) return 'ResyncRequired';
  const before = item.activeJob?.previousState;
  return before && RETURNABLE.includes(before) ? before : 'Protected';
}

/** The state the item gets when cleanup ends. */
export function stateAfterCleanup(
  item: ProtectedItem,
  record: StoredTestFailover | undefined,
): ProtectedItemState {
  if (resyncNeeded(item)) return 'ResyncRequired';
  const before = record?.previousState;
  return before && RETURNABLE.includes(before) ? before : 'Protected';
}
