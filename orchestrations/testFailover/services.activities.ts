/**
 * What every test-failover and cleanup activity starts with: the workflow services of the item's
 * direction, the item itself, checked to be still claimed by this job, and the region test VMs go to
 * (the direction's target).
 */
import { checkClaimed } from '../../shared/jobs/claims';
import type { ProtectedItem } from '../../shared/protectedItems';
import { type WorkflowServices, workflowServices } from '../../shared/workflows/services';
import type { ClaimedRef } from '../claimedJob';

export interface ClaimedServices {
  s: WorkflowServices;
  item: ProtectedItem;
  targetRegion: string;
}

export async function claimedServices(ref: ClaimedRef): Promise<ClaimedServices> {
  const s = workflowServices(ref.direction);
  const item = checkClaimed(await s.items.get(ref.resourceGroup, ref.vm), ref, ref.jobId);
  return { s, item, targetRegion: s.fabric.regions.get(s.config.target.name).name };
}
