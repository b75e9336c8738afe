/**
 * POST /api/vms/{rg}/{vm}/failover and POST /api/vms/{rg}/{vm}/commit-failover: claim the VM's
 * protected item and start the job (202 with the job and its Location). 400 for a bad body, 404 for
 * a VM that is not protected, 409 when the item's state or a running job forbids it (claims.ts).
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { z } from 'zod';

import { readJsonBody } from '../shared/http/body';
import { withProblems } from '../shared/http/handler';
import { startWorkflowResponse } from '../shared/http/workflowRoute';
import { recoveryPointChoiceSchema } from '../shared/recoveryPoints/choice';

const failoverBodySchema = z.strictObject({
  recoveryPoint: recoveryPointChoiceSchema.default('latest'),
  shutdownSource: z.boolean().default(true),
});

const commitBodySchema = z.strictObject({});

/** Fails the VM over (or, when it is FailedOver, changes its recovery point). */
export async function failoverHttp(req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const body = await readJsonBody(req, failoverBodySchema, { emptyBody: {} });
  return startWorkflowResponse(df.getClient(context), { params: req.params, kind: 'Failover', input: body });
}

/** Commits the failover: the recovery points go, the failed-over VM stays. */
export async function commitFailoverHttp(
  req: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  await readJsonBody(req, commitBodySchema, { emptyBody: {} });
  return startWorkflowResponse(df.getClient(context), {
    params: req.params,
    kind: 'CommitFailover',
    input: {},
  });
}

app.http('failoverHttp', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'vms/{rg}/{vm}/failover',
  extraInputs: [df.input.durableClient()],
  handler: withProblems(failoverHttp),
});

app.http('commitFailoverHttp', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'vms/{rg}/{vm}/commit-failover',
  extraInputs: [df.input.durableClient()],
  handler: withProblems(commitFailoverHttp),
});
