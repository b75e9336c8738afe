import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { z } from 'zod';

import { TidemarkError } from '../shared/errors';
import { checkName } from '../shared/fabric/names';
import { readJsonBody } from '../shared/http/body';
import { withProblems } from '../shared/http/handler';
import { startWorkflowResponse } from '../shared/http/workflowRoute';
import { findStatus, isInProgress } from '../shared/jobs/durableJobs';
import { jobInstanceId } from '../shared/jobs/instanceIds';

/** Disable takes no options: an empty body or `{}`. */
const disableBodySchema = z.strictObject({});

/**
 * POST /api/vms/{rg}/{vm}/disable-replication: starts the disable-replication job (202 with the job
 * and its Location). 404 when the VM is not protected; 409 when its state or a running job (an enable
 * job too) forbids it.
 */
export async function disableReplicationHttp(
  req: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const rg = checkName('resourceGroup', req.params.rg ?? '');
  const name = checkName('virtualMachine', req.params.vm ?? '');
  await readJsonBody(req, disableBodySchema, { emptyBody: {} });
  const client = df.getClient(context);
  const enableId = jobInstanceId('EnableReplication', rg, name);
  if (isInProgress(await findStatus(client, enableId))) {
    throw new TidemarkError(
      'Conflict',
      `Replication of VM ${rg}/${name} is being enabled (job ${enableId}).`,
      {
        hint: `Wait for it to end (follow it at /api/jobs/${enableId}), then disable replication.`,
        details: { job: enableId, kind: 'EnableReplication' },
      },
    );
  }
  return startWorkflowResponse(client, { kind: 'DisableReplication', params: req.params });
}

app.http('disableReplicationHttp', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'vms/{rg}/{vm}/disable-replication',
  extraInputs: [df.input.durableClient()],
  handler: withProblems(disableReplicationHttp),
});
