/** Jobs read through the Durable client: one by id, or every job newest first. */
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';

import { TidemarkError } from '../errors';
import { jobKindOf, mapJob } from './mapJob';
import type { Job } from './types';

const IN_PROGRESS = new Set(['Pending', 'Running', 'ContinuedAsNew', 'Suspended']);

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
  try {
    return await client.getStatus(id, { showInput: true });
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
  if (!status || !jobKindOf(status.name)) throw notFound(id);
  return mapJob({ ...status, runtimeStatus: String(status.runtimeStatus) });
}

export async function listJobs(client: DurableClient): Promise<Job[]> {
  const statuses = await client.getStatusBy({});
  return statuses
    .filter((s) => jobKindOf(s.name) !== undefined)
    .map((s) => mapJob({ ...s, runtimeStatus: String(s.runtimeStatus) }))
    .sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? '') || a.id.localeCompare(b.id));
}
