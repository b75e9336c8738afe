/**
 * Workflows that start from a claimed protected item (shared/jobs/claims.ts): the start request has
 * claimed the item for this job; the job releases it itself when it succeeds (its last activity sets
 * the final state), and `releaseOnFailure` gives it back, in its state from before, when a step fails.
 */
import type { OrchestrationContext } from 'durable-functions';

import type { Direction } from '../shared/direction';
import type { StepBody } from './jobSteps';
import { JobSteps } from './jobSteps';

/** What every claimed workflow's input starts with. */
export interface ClaimedJobInput {
  resourceGroup: string;
  vm: string;
  /** forward: the VM runs in the source region; reverse: a failed-over VM replicating back. */
  direction: Direction;
}

/** What activities of a claimed job get: the item and the job that must hold it. */
export interface ClaimedRef extends ClaimedJobInput {
  jobId: string;
}

export const CLAIM_ACTIVITIES = { abandon: 'jobAbandonClaim' } as const;

export function claimedRef(context: OrchestrationContext, input: ClaimedJobInput): ClaimedRef {
  return {
    resourceGroup: input.resourceGroup,
    vm: input.vm,
    direction: input.direction,
    jobId: context.df.instanceId,
  };
}

/** Runs `body`; when it fails, the item goes back to its state from before the job, then the job fails. */
export function* releaseOnFailure<T>(job: JobSteps, ref: ClaimedRef, body: () => StepBody<T>): StepBody<T> {
  try {
    return yield* body();
  } catch (err) {
    yield* job.call<unknown>(CLAIM_ACTIVITIES.abandon, ref);
    throw err;
  }
}
