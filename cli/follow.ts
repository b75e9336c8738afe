/**
 * Following a job (--wait, `job watch`): poll GET /api/jobs/{id} until the job is no longer
 * InProgress, handing every snapshot to a JobView, and tell what changed between two snapshots as
 * step events. A 5xx or a lost connection while polling is retried a few times before it fails.
 */
import type { Job, JobStep } from '../shared/jobs/types';
import { type ApiClient, jobPath } from './apiClient';
import { CliError, EXIT } from './errors';

export interface JobView {
  /** Each snapshot while following, the first one included. */
  update(job: Job): void;
  /** Once, with the final snapshot (also passed to update first). */
  end(job: Job): void;
  /** Following stopped early (an error, Ctrl-C): tidy the terminal. */
  abort(): void;
}

export type StepEvent =
  | { kind: 'state'; step: JobStep; previous: JobStep['state'] | undefined }
  | { kind: 'progress'; step: JobStep; progress: number };

/** What changed from `prev` to `next`, in step order: states entered, then progress moved. */
export function stepEvents(prev: Job | undefined, next: Job): StepEvent[] {
  const before = new Map((prev?.steps ?? []).map((s) => [s.name, s]));
  const events: StepEvent[] = [];
  for (const step of next.steps ?? []) {
    const old = before.get(step.name);
    if (step.state !== (old?.state ?? 'NotStarted')) {
      events.push({ kind: 'state', step, previous: old?.state });
    }
    if (
      typeof step.progress === 'number' &&
      step.state === 'InProgress' &&
      step.progress !== (old?.state === 'InProgress' ? old.progress : undefined)
    ) {
      events.push({ kind: 'progress', step, progress: step.progress });
    }
  }
  return events;
}

export interface FollowOptions {
  /** Between polls (default 1 s). */
  intervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Polls in a row that may fail with a system error before following gives up (default 5). */
  maxTransientFailures?: number;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls job `id` until it ends; returns the final job. Throws the poll's CliError when it cannot go on. */
export async function followJob(
  client: ApiClient,
  id: string,
  view: JobView,
  options: FollowOptions = {},
): Promise<Job> {
  const interval = options.intervalMs ?? 1000;
  const sleep = options.sleep ?? defaultSleep;
  const maxFailures = options.maxTransientFailures ?? 5;
  let failures = 0;
  try {
    for (;;) {
      let job: Job;
      try {
        job = (await client.get<Job>(jobPath(id))).body;
        failures = 0;
      } catch (err) {
        if (err instanceof CliError && err.exitCode === EXIT.system && ++failures < maxFailures) {
          await sleep(interval);
          continue;
        }
        throw err;
      }
      view.update(job);
      if (job.state !== 'InProgress') {
        view.end(job);
        return job;
      }
      await sleep(interval);
    }
  } catch (err) {
    view.abort();
    throw err;
  }
}

/** Exit 3 for a job that did not succeed, saying why and what to look at. */
export function jobFailure(job: Job): CliError {
  const what = job.state === 'Cancelled' ? 'was cancelled' : 'failed';
  const failed = (job.steps ?? []).find((s) => s.state === 'Failed');
  const message = `Job ${job.id} ${what}${job.error ? `: ${job.error}` : failed ? ` at "${failed.name}"` : '.'}`;
  return new CliError(
    EXIT.jobFailed,
    message,
    `Fix what it names and start it again; \`tidemark job show ${job.id}\` shows every step.`,
    {
      code: job.state === 'Cancelled' ? 'JobCancelled' : 'JobFailed',
      problem: {
        type: `urn:tidemark:cli:${job.state === 'Cancelled' ? 'JobCancelled' : 'JobFailed'}`,
        title: job.state === 'Cancelled' ? 'Job cancelled' : 'Job failed',
        detail: message,
        code: job.state === 'Cancelled' ? 'JobCancelled' : 'JobFailed',
        hint: `tidemark job show ${job.id}`,
        job: job.id,
        state: job.state,
      },
    },
  );
}
