/**
 * The end of a cleanup: the test failover record is cleared and the item released in the state from
 * before the test failover (Protected, or ResyncRequired when it was or has become so). Idempotent: an
 * item already released with no record left is fine.
 */
import { checkClaimed, releaseItem } from '../../shared/jobs/claims';
import type { ProtectedItemState } from '../../shared/protectedItems';
import { stateAfterCleanup, type StoredTestFailover } from '../../shared/workflows/testFailoverState';
import { workflowServices } from '../../shared/workflows/services';
import type { ClaimedRef } from '../claimedJob';

export async function releaseCleanedUp(ref: ClaimedRef): Promise<ProtectedItemState> {
  const items = workflowServices(ref.direction).items;
  const released = await releaseItem(items, ref, ref.jobId, (item) => ({
    state: stateAfterCleanup(item, item.testFailover as StoredTestFailover | undefined),
    testFailover: undefined,
  }));
  if (released) return released.state;
  const item = await items.get(ref.resourceGroup, ref.vm);
  if (item && !item.activeJob && !item.testFailover) return item.state;
  return checkClaimed(item, ref, ref.jobId).state;
}
