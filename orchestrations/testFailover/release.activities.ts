/**
 * The end of a test failover: the item is released as TestFailedOver with the record of everything
 * the job made (and the state cleanup returns to), so cleanup removes exactly that. Idempotent: a
 * second run finds the record of this job and changes nothing.
 */
import { checkClaimed, releaseItem } from '../../shared/jobs/claims';
import type { TestFailoverRecord } from '../../shared/protectedItems';
import { stateBeforeTestFailover, type StoredTestFailover } from '../../shared/workflows/testFailoverState';
import { workflowServices } from '../../shared/workflows/services';
import type { ClaimedRef } from '../claimedJob';

export interface ReleaseInput {
  ref: ClaimedRef;
  record: TestFailoverRecord;
}

export async function releaseTestFailedOver(input: ReleaseInput): Promise<void> {
  const { ref, record } = input;
  const items = workflowServices(ref.direction).items;
  const released = await releaseItem(items, ref, ref.jobId, (item) => {
    const stored: StoredTestFailover = { ...record, previousState: stateBeforeTestFailover(item) };
    return { state: 'TestFailedOver', testFailover: stored };
  });
  if (released) return;
  const item = await items.get(ref.resourceGroup, ref.vm);
  if (item?.testFailover?.jobId === ref.jobId) return;
  checkClaimed(item, ref, ref.jobId);
}
