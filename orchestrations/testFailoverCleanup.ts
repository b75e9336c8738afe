/**
 * Test failover cleanup (DESIGN §2.4): removes exactly what the test failover recorded it made, and
 * gives the item back its state from before. The job is this instance (id
 * `testcleanup-{rg}-{vm}-{time}`), started by a request that claimed the TestFailedOver item; all I/O
 * is in testFailoverCleanup/*.activities.ts, this file only decides.
 *
 *   Prerequisites check ──▶ Deleting the test virtual machine ──▶ Deleting the test network ──▶ item
 *   (job holds the item;    (its record; wait ≤ 15 s for the      (the NIC, its IP given      Protected
 *    a test failover is      agent to stop serving NBD; then      back; the VNet only if a    (or Resync-
 *    recorded)               its disk blobs and snapshots)        test failover made it)      Required)
 *
 *   any step fails ──▶ step Failed (its reason) ──▶ the item goes back to TestFailedOver with its
 *                      record, and cleanup can run again (what is gone already is fine) ──▶ job Failed
 */
import * as df from 'durable-functions';
import type { OrchestrationContext } from 'durable-functions';

import { JOB_KINDS } from '../shared/jobs/types';
import type { ProtectedItemState } from '../shared/protectedItems';
import type { StoredTestFailover } from '../shared/workflows/testFailoverState';
import { type ClaimedJobInput, claimedRef, releaseOnFailure } from './claimedJob';
import { type StepBody, JobSteps } from './jobSteps';
import { waitForAgentStop } from './testFailover/agentStop';
import {
  CLEANUP_ACTIVITIES as A,
  type CleanupResult,
  type DeleteNetworkResult,
  type DeleteVmResult,
} from './testFailoverCleanup/types';

export const CLEANUP_STEPS = [
  'Prerequisites check',
  'Deleting the test virtual machine',
  'Deleting the test network',
] as const;

const VM_STEP = 'Deleting the test virtual machine';

export function* testFailoverCleanup(context: OrchestrationContext): StepBody<CleanupResult> {
  const input = context.df.getInput() as ClaimedJobInput;
  const ref = claimedRef(context, input);
  const job = new JobSteps(
    context,
    'TestFailoverCleanup',
    { resourceGroup: input.resourceGroup, name: input.vm },
    CLEANUP_STEPS,
  );

  return yield* releaseOnFailure(job, ref, function* () {
    const record = yield* job.step('Prerequisites check', () =>
      job.call<StoredTestFailover>(A.prerequisites, ref),
    );

    const vm = yield* job.step(VM_STEP, function* () {
      const gone = yield* job.call<DeleteVmResult>(A.deleteVm, { ref, vm: record.vm });
      if (gone.note) job.warn(VM_STEP, gone.note);
      if (!gone.ours) return { gone, disks: [] as string[] };
      yield* waitForAgentStop(job, VM_STEP, ref, record.vm);
      const disks = yield* job.call<string[]>(A.deleteDisks, {
        ref,
        region: record.vm.region,
        blobs: record.diskBlobs,
      });
      return { gone, disks };
    });

    const network = yield* job.step('Deleting the test network', function* () {
      const result = yield* job.call<DeleteNetworkResult>(A.deleteNetwork, {
        ref,
        region: record.vm.region,
        nic: record.nic,
        vnet: record.vnet,
        createdVnet: record.createdVnet,
        vm: record.vm.name,
        vmOurs: vm.gone.ours,
      });
      for (const note of result.notes) job.warn('Deleting the test network', note);
      const state = yield* job.call<ProtectedItemState>(A.release, ref);
      return { ...result, state };
    });

    return job.succeed<CleanupResult>({
      removed: {
        vm: vm.gone.ours ? record.vm : null,
        disks: vm.disks,
        nic: network.nicGone ? record.nic : null,
        vnet: network.vnetGone ? record.vnet : null,
      },
      state: network.state,
    });
  });
}

df.app.orchestration(JOB_KINDS.TestFailoverCleanup, testFailoverCleanup);
