/**
 * Orchestration helper: when a test failover fails after it began making things, it removes what it
 * made (with cleanup's activities, while the job still holds the item), so a later test failover,
 * into this network or another, starts clean. Only what is this job's is touched: the VM only while it
 * carries the item's test-VM tag, the VNet only when test failover made it and it is empty. If undoing
 * fails too, the failed step gets a warning and the original failure stands.
 */
import type { VmRef } from '../../shared/protectedItems';
import { testNicName, testVmName } from '../../shared/workflows/testFailoverNames';
import type { ClaimedRef } from '../claimedJob';
import { errorText, type JobSteps, type StepBody } from '../jobSteps';
import {
  CLEANUP_ACTIVITIES as C,
  type DeleteNetworkResult,
  type DeleteVmResult,
} from '../testFailoverCleanup/types';
import { waitForAgentStop } from './agentStop';
import type { TestDisks, TestFailoverPlan, TestNetwork } from './types';

/** What the job has made so far. */
export interface MadeSoFar {
  network?: TestNetwork;
  disks?: TestDisks;
}

export function* undoTestFailover(
  job: JobSteps,
  ref: ClaimedRef,
  plan: TestFailoverPlan,
  made: MadeSoFar,
): StepBody<void> {
  if (!made.network) return;
  const step =
    job.status.steps.find((s) => s.state === 'Failed')?.name ?? 'Starting the test virtual machine';
  const region = plan.targetRegion;
  const vm: VmRef = { region, resourceGroup: plan.targetResourceGroup, name: testVmName(ref.vm) };
  try {
    const gone = yield* job.call<DeleteVmResult>(C.deleteVm, { ref, vm });
    if (gone.deleted) yield* waitForAgentStop(job, step, ref, vm);
    if (gone.ours && made.disks) {
      yield* job.call<string[]>(C.deleteDisks, {
        ref,
        region,
        blobs: made.disks.disks.map((d) => d.blobName),
      });
    }
    yield* job.call<DeleteNetworkResult>(C.deleteNetwork, {
      ref,
      region,
      nic: { resourceGroup: plan.targetResourceGroup, name: testNicName(ref.vm) },
      vnet: { resourceGroup: made.network.resourceGroup, name: made.network.name },
      createdVnet: made.network.created,
      vm: vm.name,
      vmOurs: gone.ours,
    });
  } catch (err) {
    job.warn(
      step,
      `What this test failover made could not all be removed (${errorText(err)}); a new test failover reuses it.`,
    );
  }
}
