/** "Prerequisites check" of a cleanup: the job still holds the item, and a test failover is recorded on it. Reads only. */
import { TidemarkError } from '../../shared/errors';
import type { StoredTestFailover } from '../../shared/workflows/testFailoverState';
import type { ClaimedRef } from '../claimedJob';
import { claimedServices } from '../testFailover/services.activities';

export async function checkCleanupPrerequisites(ref: ClaimedRef): Promise<StoredTestFailover> {
  const { item } = await claimedServices(ref);
  if (!item.testFailover) {
    throw new TidemarkError(
      'Conflict',
      `VM ${item.resourceGroup}/${item.vm} has no test failover recorded, so there is nothing to clean up.`,
      { hint: 'Run a test failover first.' },
    );
  }
  return item.testFailover as StoredTestFailover;
}
