/**
 * Commit failover (DESIGN §2.4): the failed-over VM stays as it is and its recovery points go, so
 * the point can no longer be changed. The start request claimed the item (FailedOver); the last step
 * releases it FailoverCommitted, and any failure gives it back FailedOver. All I/O is in
 * commit/*.activities.ts; this file only decides.
 *
 *   Prerequisites check ──▶ Deleting recovery points ──▶ Stopping replication from the source
 *   (claimed; was            (rows, snapshots, orphan      (delete the source VM's agent config;
 *    FailedOver; points;      snapshots, journal, under     source down: a warning) ──▶ item
 *    source reachable?)       the VM's lease; then the      FailoverCommitted ──▶ Succeeded
 *                             disks earlier jobs left)
 *
 *   any step fails ──▶ step Failed ──▶ item back to FailedOver ──▶ job Failed
 */
import * as df from 'durable-functions';
import type { OrchestrationContext } from 'durable-functions';

import { JOB_KINDS } from '../shared/jobs/types';
import { type ClaimedJobInput, claimedRef, releaseOnFailure } from './claimedJob';
import {
  COMMIT_ACTIVITIES as A,
  type CommitPlan,
  type CommitResult,
  type DeletedDisks,
  type DeletedPoints,
  type StopReplicationOutcome,
} from './commit/types';
import { JobSteps, type StepBody } from './jobSteps';

export const COMMIT_STEPS = [
  'Prerequisites check',
  'Deleting recovery points',
  'Stopping replication from the source',
] as const;

const [PREREQUISITES, DELETE_POINTS, STOP_REPLICATION] = COMMIT_STEPS;

export function* commitFailover(context: OrchestrationContext): StepBody<CommitResult> {
  const input = context.df.getInput() as ClaimedJobInput;
  const ref = claimedRef(context, input);
  const job = new JobSteps(
    context,
    'CommitFailover',
    { resourceGroup: input.resourceGroup, name: input.vm },
    COMMIT_STEPS,
  );

  return yield* releaseOnFailure(job, ref, function* () {
    const plan = yield* job.step(PREREQUISITES, () => job.call<CommitPlan>(A.prerequisites, ref));
    const disks = yield* job.step(DELETE_POINTS, function* () {
      yield* job.call<DeletedPoints>(A.deletePoints, ref);
      return yield* job.call<DeletedDisks>(A.deleteEarlierDisks, ref);
    });
    yield* job.step(STOP_REPLICATION, function* () {
      const out = yield* job.call<StopReplicationOutcome>(A.stopReplication, { ref, plan });
      if (!out.deleted) {
        job.warn(
          STOP_REPLICATION,
          `The agent config of VM ${plan.vmId} in ${plan.sourceRegion} could not be deleted (${out.reason ?? 'no reason given'}); its agent may keep shipping writes to the cache until it is. Disable replication once ${plan.sourceRegion} is back.`,
        );
      }
      yield* job.call<void>(A.release, ref);
    });
    return job.succeed<CommitResult>({ deletedPoints: plan.points, deletedDisks: disks.disks.length });
  });
}

df.app.orchestration(JOB_KINDS.CommitFailover, commitFailover);
