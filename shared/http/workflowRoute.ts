/**
 * What every route that starts a workflow on a protected item does (DESIGN §6): check the path's
 * names, find the VM's protected item in either direction (404 when it has none), claim it and start
 * the job (409 when its state or a running job forbids), and answer 202 with the job and its Location.
 */
import type { HttpResponseInit } from '@azure/functions';
import type { DurableClient } from 'durable-functions';

import { TidemarkError } from '../errors';
import { checkName } from '../fabric/names';
import { startClaimedJob } from '../jobs/startClaimedJob';
import type { ClaimedKind } from '../jobs/workflowRules';
import { findProtectedItem } from '../workflows/findItem';
import { workflowServices } from '../workflows/services';
import { json } from './handler';

export interface WorkflowStart {
  kind: ClaimedKind;
  /** The route's `{rg}` and `{vm}`. */
  params: Record<string, string | undefined>;
  /** Workflow-specific input (validated already). */
  input?: Record<string, unknown>;
  now?: number;
}

export async function startWorkflowResponse(
  client: DurableClient,
  start: WorkflowStart,
): Promise<HttpResponseInit> {
  const rg = checkName('resourceGroup', start.params.rg ?? '');
  const name = checkName('virtualMachine', start.params.vm ?? '');
  const found = await findProtectedItem(rg, name);
  if (!found) {
    throw new TidemarkError('NotFound', `VM ${rg}/${name} is not protected.`, {
      hint: 'Enable replication for it first (or check the resource group and VM name).',
      details: { resourceGroup: rg, vm: name },
    });
  }
  const job = await startClaimedJob(client, workflowServices(found.direction).items, {
    kind: start.kind,
    resourceGroup: found.item.resourceGroup,
    vm: found.item.vm,
    direction: found.direction,
    input: start.input,
    now: start.now ?? Date.now(),
  });
  const response = json(202, { job });
  response.headers = { location: `/api/jobs/${encodeURIComponent(job.id)}` };
  return response;
}
