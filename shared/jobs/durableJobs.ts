/** Jobs read through the Durable client: one by id, or the jobs newest first, a page at a time. */
import type {
  DurableClient,
  DurableOrchestrationStatus,
  OrchestrationRuntimeStatus,
} from 'durable-functions';

import { TidemarkError } from '../errors';
import { nameKey } from '../fabric/names';
import { compareText, pageOf } from '../http/paging';
import { jobKindOf, mapJob } from './mapJob';
import type { Job, JobState, JobVm } from './types';

const IN_PROGRESS = new Set(['Pending', 'Running', 'ContinuedAsNew', 'Suspended']);

/** The Durable runtime statuses of each job state (mapJob.ts maps them the other way). */
const RUNTIME_STATUSES: Record<JobState, string[]> = {
  InProgress: [...IN_PROGRESS],
  Succeeded: ['Completed'],
  Failed: ['Failed'],
  Cancelled: ['Terminated', 'Canceled'],
};

/**
 * What a job id can look like: the ids tidemark makes (`enable-{rg}-{vm}`, `failover-{rg}-{vm}-{time}`
 * ...) are lower-case resource names joined by hyphens. Anything else (a slash, `..`, `?`, control
 * characters) cannot name a job, and must not reach the Durable client, which puts the id in a URL.
 */
const JOB_ID = /^[\p{L}\p{Nd}_.()-]{1,256}$/u;

export function isJobId(id: string): boolean {
  return JOB_ID.test(id) && !/^\.+$/.test(id);
}

function notFound(id: string): TidemarkError {
  return new TidemarkError('NotFound', `Job ${id} does not exist.`, {
    hint: 'GET /api/jobs lists the jobs.',
    details: { id },
  });
}

/** The instance's status, or undefined when the task hub has no such instance. */
export async function findStatus(
  client: DurableClient,
  id: string,
): Promise<DurableOrchestrationStatus | undefined> {
  if (!isJobId(id)) return undefined;
  try {
    return await client.getStatus(encodeURIComponent(id), { showInput: true });
  } catch (err) {
    // The SDK answers a 404 with a plain Error naming the status.
    if (err instanceof Error && /HTTP 404/.test(err.message)) return undefined;
    throw err;
  }
}

export function isInProgress(status: DurableOrchestrationStatus | undefined): boolean {
  return status !== undefined && IN_PROGRESS.has(String(status.runtimeStatus));
}

export async function getJob(client: DurableClient, id: string): Promise<Job> {
  const status = await findStatus(client, id);
  if (!status || status.instanceId !== id || !jobKindOf(status.name)) throw notFound(id);
  return mapJob({ ...status, runtimeStatus: String(status.runtimeStatus) });
}

/** Where a page of jobs ended: the last job's start time and id (the list's sort keys). */
export interface JobCursor {
  startedAt: string | null;
  id: string;
}

/** Newest first; jobs that started in the same millisecond by id. */
export function newestJobFirst(a: JobCursor, b: JobCursor): number {
  return compareText(b.startedAt ?? '', a.startedAt ?? '') || compareText(a.id, b.id);
}

export interface JobListQuery {
  /** A page's size. */
  top: number;
  /** The last job of the page before. */
  after?: JobCursor;
  state?: JobState;
  vm?: JobVm;
}

export interface JobPage {
  jobs: Job[];
  /** The cursor of the next page; null on the last one. */
  next: JobCursor | null;
}

async function jobsWith(client: DurableClient, state?: JobState): Promise<Job[]> {
  // The SDK follows the task hub's continuation tokens itself; the hub pages by instance id, not by
  // time, so the whole (filtered) list is read and sorted here.
  const filter = state
    ? { runtimeStatus: RUNTIME_STATUSES[state] as unknown as OrchestrationRuntimeStatus[] }
    : {};
  const statuses = await client.getStatusBy(filter);
  return statuses
    .filter((s) => jobKindOf(s.name) !== undefined)
    .map((s) => mapJob({ ...s, runtimeStatus: String(s.runtimeStatus) }));
}

/** One page of the jobs, newest first, of one state and/or VM when asked. */
export async function listJobsPage(client: DurableClient, query: JobListQuery): Promise<JobPage> {
  const { state, vm, after } = query;
  const jobs = (await jobsWith(client, state))
    .filter((j) => state === undefined || j.state === state)
    .filter(
      (j) =>
        vm === undefined ||
        (j.vm !== null &&
          nameKey(j.vm.resourceGroup) === nameKey(vm.resourceGroup) &&
          nameKey(j.vm.name) === nameKey(vm.name)),
    )
    .sort(newestJobFirst);
  const page = pageOf(jobs, query.top, after ? (j) => newestJobFirst(after, j) < 0 : undefined);
  return {
    jobs: page.items,
    next: page.last ? { startedAt: page.last.startedAt, id: page.last.id } : null,
  };
}
