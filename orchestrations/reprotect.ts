/**
 * Reprotect (DESIGN §2.4), after a committed failover: the failed-over VM replicates back to where
 * the original VM is, as a new protected item in the opposite direction; failback is then a failover
 * of that item, onto the original VM. It is enable replication with three differences: the target is
 * known (the original VM's place), each replica starts from the original VM's old disk and only blocks
 * whose hashes differ are sent, and at the end the item that failed over is removed.
 *
 *   Prerequisites check ──▶ Enable replication ──▶ Waiting for the agent ──▶ Synchronizing the disks
 *   (committed failover,    (new item Enabling,       (of the failed-over       (hash compare per
 *    failed-over VM runs)    replicas seeded from      VM, new generation)       block, send what
 *                            the old disks, agent                                differs; progress)
 *                            config)                                                  │
 *   Completing reprotect ◀── Creating the first recovery point ◀── Start continuous ◀─┘
 *   (old item, its replicas   (new item Protected)                  replication
 *    and lock removed)
 *
 * A failure gives the claimed item back as FailoverCommitted; reprotecting again starts over with the
 * next generation.
 */
import * as df from 'durable-functions';
import type { OrchestrationContext } from 'durable-functions';

import { JOB_KINDS } from '../shared/jobs/types';
import { type ClaimedJobInput, claimedRef, releaseOnFailure } from './claimedJob';
import { ENABLE_ACTIVITIES as A } from './enable/types';
import { firstRecoveryPoint, waitForAgent } from './enable/waits';
import { JobSteps, type StepBody } from './jobSteps';
import {
  REPROTECT_ACTIVITIES as R,
  type ReprotectPlan,
  type ReprotectResult,
  type SyncDiskResult,
} from './reprotect/types';

export const REPROTECT_STEPS = [
  'Prerequisites check',
  'Enable replication',
  'Waiting for the agent',
  'Synchronizing the disks',
  'Start continuous replication',
  'Creating the first recovery point',
  'Completing reprotect',
] as const;

function* synchronize(job: JobSteps, plan: ReprotectPlan): StepBody<SyncDiskResult> {
  yield* job.call<void>(A.setState, plan.reverse);
  const total = plan.seeds.reduce((sum, s) => sum + s.disk.sizeBytes, 0) || 1;
  const sum: SyncDiskResult = { comparedBytes: 0, sentBytes: 0, clearedBytes: 0 };
  let done = 0;
  job.progress('Synchronizing the disks', 0);
  for (const { disk } of plan.seeds) {
    const r = yield* job.call<SyncDiskResult>(R.syncDisk, { reverse: plan.reverse, disk });
    sum.comparedBytes += r.comparedBytes;
    sum.sentBytes += r.sentBytes;
    sum.clearedBytes += r.clearedBytes;
    done += disk.sizeBytes;
    job.progress('Synchronizing the disks', (done / total) * 100);
  }
  return sum;
}

export function* reprotect(context: OrchestrationContext): StepBody<ReprotectResult> {
  const input = context.df.getInput() as ClaimedJobInput;
  const ref = claimedRef(context, input);
  const job = new JobSteps(
    context,
    'Reprotect',
    { resourceGroup: input.resourceGroup, name: input.vm },
    REPROTECT_STEPS,
  );
  return yield* releaseOnFailure(job, ref, function* () {
    const plan = yield* job.step('Prerequisites check', () => job.call<ReprotectPlan>(R.prerequisites, ref));
    const vm = plan.reverse;
    yield* job.step('Enable replication', function* () {
      yield* job.call<void>(A.register, {
        source: plan.source,
        target: plan.target,
        policy: plan.policy,
        direction: vm.direction,
        failbackTo: plan.failbackTo,
      });
      yield* job.call<unknown>(R.seed, plan);
      yield* job.call<void>(A.agentConfig, vm);
    });
    yield* job.step('Waiting for the agent', () => waitForAgent(job, vm));
    const sync = yield* job.step('Synchronizing the disks', () => synchronize(job, plan));
    yield* job.step('Start continuous replication', () => job.call<number>(A.startApply, vm));
    const point = yield* job.step('Creating the first recovery point', function* () {
      const first = yield* firstRecoveryPoint(job, vm);
      yield* job.call<void>(A.protect, { ...vm, lastRecoveryPointAt: first.cutAt });
      return first;
    });
    yield* job.step('Completing reprotect', () => job.call<void>(R.complete, { claimed: ref, plan }));
    return job.succeed<ReprotectResult>({
      protectedItem: { resourceGroup: vm.resourceGroup, vm: vm.vm, region: plan.source.region },
      direction: vm.direction,
      target: plan.target,
      generation: vm.generation,
      firstRecoveryPoint: point.pointId ?? null,
      comparedBytes: sync.comparedBytes,
      sentBytes: sync.sentBytes,
      clearedBytes: sync.clearedBytes,
    });
  });
}

df.app.orchestration(JOB_KINDS.Reprotect, reprotect);
