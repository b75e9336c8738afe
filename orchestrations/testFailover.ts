/**
 * Test failover (DESIGN §2.4), as Site Recovery runs it: a copy of the protected VM started from a
 * recovery point in an isolated network of the target region, while replication goes on. The job is
 * this instance (id `testfailover-{rg}-{vm}-{time}`), started by a request that claimed the item
 * (TestFailoverInProgress); all I/O is in testFailover/*.activities.ts, this file only decides.
 *
 *   Prerequisites check ──▶ Synchronizing latest data ──▶ Creating the test network
 *   (job holds the item;    (`latest` only: drain the     (the `network` asked for, isolated, or
 *    target and source VM    cache, cut a point;           `<target vnet>-test` with the target's
 *    known; no test VM yet;  skipped otherwise)            address space, no network mapping)
 *    the point exists)                                             │
 *   ┌──────────────────────────────────────────────────────────────┘
 *   ▼
 *   Creating the test disks ──▶ Creating the network ──▶ Starting the test ──▶ item TestFailedOver
 *   (the point's snapshots,     interface               virtual machine       with the record of
 *    journal replayed for a     (`{vm}-test-nic`, the   (`{vm}-test`, same     what was made
 *    time, as `{targetRg}/      source IP when free)    size, Running)         ──▶ Succeeded
 *    {vm}-test/{disk}`)
 *
 *   any step fails ──▶ step Failed (its reason) ──▶ what this job made is removed again (best
 *                      effort, with cleanup's activities) ──▶ the item goes back to its state from
 *                      before (Protected or ResyncRequired) ──▶ job Failed
 */
import * as df from 'durable-functions';
import type { OrchestrationContext } from 'durable-functions';

import { JOB_KINDS } from '../shared/jobs/types';
import type { TestFailoverRecord, VmRef } from '../shared/protectedItems';
import { describeChoice } from '../shared/recoveryPoints/choice';
import { claimedRef, releaseOnFailure } from './claimedJob';
import { type StepBody, JobSteps } from './jobSteps';
import {
  TEST_FAILOVER_ACTIVITIES as A,
  type SyncResult,
  type TestDisks,
  type TestFailoverInput,
  type TestFailoverPlan,
  type TestFailoverResult,
  type TestNetwork,
  type TestNic,
} from './testFailover/types';
import { type MadeSoFar, undoTestFailover } from './testFailover/undo';

export const TEST_FAILOVER_STEPS = [
  'Prerequisites check',
  'Synchronizing latest data',
  'Creating the test network',
  'Creating the test disks',
  'Creating the network interface',
  'Starting the test virtual machine',
] as const;

export function* testFailover(context: OrchestrationContext): StepBody<TestFailoverResult> {
  const input = context.df.getInput() as TestFailoverInput;
  const ref = claimedRef(context, input);
  const choice = input.recoveryPoint ?? 'latestProcessed';
  const job = new JobSteps(
    context,
    'TestFailover',
    { resourceGroup: input.resourceGroup, name: input.vm },
    TEST_FAILOVER_STEPS,
  );

  return yield* releaseOnFailure(job, ref, function* () {
    const plan = yield* job.step('Prerequisites check', () =>
      job.call<TestFailoverPlan>(A.prerequisites, { ref, recoveryPoint: choice }),
    );

    if (choice === 'latest') {
      yield* job.step('Synchronizing latest data', function* () {
        const sync = yield* job.call<SyncResult>(A.sync, ref);
        if (sync.note) job.warn('Synchronizing latest data', sync.note);
      });
    } else {
      job.skip('Synchronizing latest data');
    }

    const made: MadeSoFar = {};
    try {
      const network = yield* job.step('Creating the test network', () =>
        job.call<TestNetwork>(A.network, { ref, plan, ...(input.network ? { network: input.network } : {}) }),
      );
      made.network = network;
      const disks = yield* job.step('Creating the test disks', () =>
        job.call<TestDisks>(A.disks, { ref, plan, choice }),
      );
      made.disks = disks;
      const nic = yield* job.step('Creating the network interface', () =>
        job.call<TestNic>(A.nic, { ref, plan, network }),
      );
      const vm = yield* job.step('Starting the test virtual machine', function* () {
        const started = yield* job.call<VmRef>(A.vm, { ref, plan, network, nic, disks: disks.disks });
        const record: TestFailoverRecord = {
          jobId: ref.jobId,
          choice: describeChoice(choice),
          pointId: disks.pointId,
          pointTime: disks.pointTime,
          vm: started,
          nic: { resourceGroup: nic.resourceGroup, name: nic.name },
          vnet: { resourceGroup: network.resourceGroup, name: network.name },
          createdVnet: network.created,
          diskBlobs: disks.disks.map((d) => d.blobName),
          at: job.now(),
        };
        yield* job.call<void>(A.release, { ref, record });
        return started;
      });
      return job.succeed<TestFailoverResult>({
        testVm: vm,
        network: { resourceGroup: network.resourceGroup, name: network.name },
        recoveryPoint: {
          id: disks.pointId,
          type: disks.pointType,
          time: new Date(disks.pointTime).toISOString(),
        },
      });
    } catch (err) {
      yield* undoTestFailover(job, ref, plan, made);
      throw err;
    }
  });
}

df.app.orchestration(JOB_KINDS.TestFailover, testFailover);
