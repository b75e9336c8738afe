/**
 * "Prerequisites check" of disable replication: the start request claimed the protected item for this
 * job (shared/jobs/claims.ts); every activity checks the claim is still this job's before it removes
 * anything, so a stale job never touches an item someone else holds. Reads only.
 */
import { checkClaimed } from '../../shared/jobs/claims';
import type { ProtectedItem } from '../../shared/protectedItems';
import { workflowServices } from '../../shared/workflows/services';
import type { ClaimedRef } from '../claimedJob';
import type { DisableSubject } from './types';

/** The item, held by `ref.jobId`; NotFound or Conflict (not retried) otherwise. */
export async function claimedItem(ref: ClaimedRef): Promise<ProtectedItem> {
  const item = await workflowServices(ref.direction).items.get(ref.resourceGroup, ref.vm);
  return checkClaimed(item, ref, ref.jobId);
}

export async function checkDisable(ref: ClaimedRef): Promise<DisableSubject> {
  const item = await claimedItem(ref);
  return {
    resourceGroup: item.resourceGroup,
    vm: item.vm,
    generation: item.generation,
    previousState: item.activeJob?.previousState ?? item.state,
  };
}
