/**
 * Orchestration helper: after a test VM's record is deleted, waits (a durable timer every second, at
 * most 15 s) until its agent no longer publishes an NBD endpoint, which the local VM runner drops
 * once it has stopped the agent, so its disks are not deleted under it. If it is still there, the
 * step gets a warning and the caller goes on.
 */
import type { VmRef } from '../../shared/protectedItems';
import type { ClaimedRef } from '../claimedJob';
import type { JobSteps, StepBody } from '../jobSteps';
import { CLEANUP_ACTIVITIES as C } from '../testFailoverCleanup/types';

export const AGENT_STOP_WAIT_MS = 15_000;
const POLL_MS = 1000;

export function* waitForAgentStop(job: JobSteps, step: string, ref: ClaimedRef, vm: VmRef): StepBody<void> {
  const deadline = job.now() + AGENT_STOP_WAIT_MS;
  for (;;) {
    if (yield* job.call<boolean>(C.agentStopped, { ref, vm })) return;
    if (job.now() >= deadline) {
      job.warn(
        step,
        `The agent of ${vm.resourceGroup}/${vm.name} still published its NBD endpoint after ${AGENT_STOP_WAIT_MS / 1000} s; its disks were deleted anyway.`,
      );
      return;
    }
    yield* job.sleep(POLL_MS);
  }
}
