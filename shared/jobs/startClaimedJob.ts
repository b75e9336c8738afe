/**
 * Starting a workflow on a protected item (DESIGN §6: 202 + job, 409 when the item's state or a
 * running job forbids it): claim the item for a new job id, then start the orchestration with that id.
 * If the start fails, the claim is given back, so nothing is left half-claimed.
 */
import type { DurableClient } from 'durable-functions';

import type { Direction } from '../direction';
import type { ProtectedItemStore } from '../protectedItems';
import { abandonItem, claimItem } from './claims';
import { findStatus, isInProgress } from './durableJobs';
import { newJobId } from './instanceIds';
import { mapJob } from './mapJob';
import { JOB_KINDS, type Job } from './types';
import type { ClaimedKind } from './workflowRules';

export interface StartClaimedJob {
  kind: ClaimedKind;
  resourceGroup: string;
  vm: string;
  direction: Direction;
  /** Workflow-specific input; resourceGroup, vm and direction are added. */
  input?: Record<string, unknown>;
  now: number;
}

export async function startClaimedJob(
  client: DurableClient,
  items: ProtectedItemStore,
  request: StartClaimedJob,
): Promise<Job> {
  const { kind, resourceGroup, vm, direction } = request;
  const id = newJobId(kind, resourceGroup, vm, request.now);
  const item = await claimItem(items, {
    resourceGroup,
    vm,
    kind,
    jobId: id,
    now: request.now,
    isRunning: async (jobId) => isInProgress(await findStatus(client, jobId)),
  });
  const input = {
    ...request.input,
    resourceGroup: item.resourceGroup,
    vm: item.vm,
    direction,
  };
  try {
    await client.startNew(JOB_KINDS[kind], { instanceId: id, input });
  } catch (err) {
    await abandonItem(items, item, id);
    throw err;
  }
  const status = await findStatus(client, id);
  return status
    ? mapJob({ ...status, runtimeStatus: String(status.runtimeStatus) })
    : mapJob({ instanceId: id, name: JOB_KINDS[kind], runtimeStatus: 'Pending', input });
}
