/**
 * The waits enable replication and reprotect share: for the agent to start replicating a generation,
 * and for a first delta to be applied so the first recovery point can be cut. Deterministic: durable
 * timers, times from the orchestration.
 */
import {
  type AgentStatusSummary,
  ENABLE_ACTIVITIES as A,
  type FirstPointResult,
  type VmGeneration,
} from './types';
import { type StepBody, JobSteps, StepFailure } from '../jobSteps';

const POLL_MS = 2000;
const AGENT_WAIT_MS = 5 * 60_000;
const FIRST_POINT_WAIT_MS = 2 * 60_000;

function agentTimeout(vm: VmGeneration, status: AgentStatusSummary | null): string {
  const id = `${vm.resourceGroup}/${vm.vm}`;
  const seen = !status
    ? 'it has never reported a status'
    : status.configError
      ? `it rejected its config: ${status.configError}`
      : `it reports generation ${status.generation ?? 'none'} and health ${status.health} (at ${status.updatedAt})${status.error ? `, error: ${status.error}` : ''}`;
  return `The mobility agent of VM ${id} did not start replicating generation ${vm.generation} within ${AGENT_WAIT_MS / 60_000} minutes; ${seen}. Make sure the VM is running and its agent can reach the cache storage account, then enable replication again.`;
}

export function* waitForAgent(job: JobSteps, vm: VmGeneration): StepBody<void> {
  const deadline = job.now() + AGENT_WAIT_MS;
  for (;;) {
    const status = yield* job.call<AgentStatusSummary | null>(A.agentStatus, vm);
    if (status?.generation === vm.generation) return;
    if (job.now() >= deadline) throw new StepFailure(agentTimeout(vm, status));
    yield* job.sleep(POLL_MS);
  }
}

export function* firstRecoveryPoint(job: JobSteps, vm: VmGeneration): StepBody<FirstPointResult> {
  const deadline = job.now() + FIRST_POINT_WAIT_MS;
  for (;;) {
    const result = yield* job.call<FirstPointResult>(A.firstPoint, vm);
    if (result.pointId) return result;
    if (job.now() >= deadline) {
      throw new StepFailure(
        `No delta from VM ${vm.resourceGroup}/${vm.vm} was applied within ${FIRST_POINT_WAIT_MS / 60_000} minutes (last outcome: ${result.outcome}, watermark ${result.watermark}), so no recovery point could be cut. The agent sends a heartbeat every 30 s; check that it is running and can reach the cache, then enable replication again.`,
      );
    }
    yield* job.sleep(POLL_MS);
  }
}
