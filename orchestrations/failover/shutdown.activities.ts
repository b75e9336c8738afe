/**
 * "Shutting down the source virtual machine": the source VM is set Stopped in the source region's
 * fabric, then its agent is given a while to stop (it ships what it journaled first, so `latest`
 * sees every write up to the shutdown). Failover must not depend on the source region, so any
 * failure comes back as a reason for a warning, never as an error.
 */
import { ensureError } from '../../shared/errors';
import { checkClaimed } from '../../shared/jobs/claims';
import type { Logger } from '../../shared/logger';
import { setPowerIn, waitForAgentStopped } from '../../shared/workflows/vmPower';
import { workflowServices } from '../../shared/workflows/services';
import type { PlannedRef, ShutdownOutcome } from './types';

const AGENT_STOP_WAIT_MS = 15_000;

export async function shutdownSource({ ref, plan }: PlannedRef, log: Logger): Promise<ShutdownOutcome> {
  const s = workflowServices(ref.direction);
  checkClaimed(await s.items.get(ref.resourceGroup, ref.vm), ref, ref.jobId);
  const region = plan.sourceRegion;
  if (!plan.sourceReachable) {
    return { stopped: false, reason: `${region} does not answer: ${plan.sourceError ?? 'no answer'}` };
  }
  try {
    const vm = await setPowerIn(s.fabric.store(region), ref.resourceGroup, ref.vm, 'Stopped');
    if (!vm) return { stopped: false, reason: `it no longer exists in ${region}` };
    const agentStopped = await waitForAgentStopped(s.fabric.endpoints(region), ref.resourceGroup, ref.vm, {
      timeoutMs: AGENT_STOP_WAIT_MS,
    });
    log.info('Source VM shut down', { vm: plan.vmId, region, agentStopped });
    return { stopped: true, ...(agentStopped ? {} : { agentStillRunning: true }) };
  } catch (err) {
    const reason = ensureError(err).message.split('\n')[0] ?? 'unknown error';
    log.warn('Could not shut the source VM down; failover goes on', { vm: plan.vmId, region, error: reason });
    return { stopped: false, reason };
  }
}
