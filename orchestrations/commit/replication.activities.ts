/**
 * Commit's "Stopping replication from the source": the source VM's agent config is deleted, so its
 * agent stops journaling and shipping (the agent polls it; docs/agent.md); its generation stays in
 * a tombstone, so reprotecting the VM later takes a higher one. The source region may be
 * down: that is a reason for a warning, not an error. Then the claim ends with FailoverCommitted.
 */
import { retireAgentConfig } from '../../shared/agentConfig';
import { ensureError, TidemarkError } from '../../shared/errors';
import { checkClaimed, releaseItem } from '../../shared/jobs/claims';
import type { Logger } from '../../shared/logger';
import { CONTAINERS } from '../../shared/storageNames';
import { workflowServices } from '../../shared/workflows/services';
import type { ClaimedRef } from '../claimedJob';
import type { CommitPlan, StopReplicationOutcome } from './types';

export async function stopSourceReplication(
  { ref, plan }: { ref: ClaimedRef; plan: CommitPlan },
  log: Logger,
): Promise<StopReplicationOutcome> {
  const s = workflowServices(ref.direction);
  const item = checkClaimed(await s.items.get(ref.resourceGroup, ref.vm), ref, ref.jobId);
  if (!plan.sourceReachable) {
    return {
      deleted: false,
      reason: `${plan.sourceRegion} does not answer: ${plan.sourceError ?? 'no answer'}`,
    };
  }
  try {
    await retireAgentConfig(s.source.getContainerClient(CONTAINERS.agentConfig), ref.resourceGroup, ref.vm, {
      generation: item.generation,
      jobId: ref.jobId,
    });
  } catch (err) {
    const reason = ensureError(err).message.split('\n')[0] ?? 'unknown error';
    log.warn('Could not delete the agent config', { vm: plan.vmId, error: reason });
    return { deleted: false, reason };
  }
  log.info('Replication from the source stopped', { vm: plan.vmId });
  return { deleted: true };
}

export async function releaseCommitted(ref: ClaimedRef): Promise<void> {
  const items = workflowServices(ref.direction).items;
  const released = await releaseItem(items, ref, ref.jobId, () => ({ state: 'FailoverCommitted' }));
  if (released) return;
  // Released by an earlier run of this activity whose answer was lost.
  const item = await items.get(ref.resourceGroup, ref.vm);
  if (item?.state === 'FailoverCommitted' && !item.activeJob) return;
  checkClaimed(item, ref, ref.jobId);
  throw new TidemarkError('Conflict', `VM ${ref.resourceGroup}/${ref.vm} changed while it was committed.`, {
    hint: 'Look at the VM and commit again if it is still FailedOver.',
  });
}
