/**
 * POST /api/vms/{rg}/{vm}/test-failover and …/test-failover-cleanup: start the test failover of a
 * protected VM, or its cleanup (202 with the job and its Location). 400 for a bad body (every bad
 * field listed), 404 when the VM is not protected, 409 when its state or a running job forbids it
 * (shared/jobs/claims.ts). See docs/workflows.md.
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { z } from 'zod';

import { nameMessage } from '../shared/fabric/names';
import { readJsonBody } from '../shared/http/body';
import { withProblems } from '../shared/http/handler';
import { startWorkflowResponse } from '../shared/http/workflowRoute';
import { recoveryPointChoiceSchema } from '../shared/recoveryPoints/choice';

const testFailoverBodySchema = z.strictObject({
  recoveryPoint: recoveryPointChoiceSchema.default('latestProcessed'),
  network: z
    .string()
    .superRefine((name, ctx) => {
      const message = nameMessage('virtualNetwork', name);
      if (message) ctx.addIssue({ code: 'custom', message });
    })
    .optional(),
});

const cleanupBodySchema = z.strictObject({});

/** POST /api/vms/{rg}/{vm}/test-failover `{recoveryPoint?, network?}`. */
export async function testFailoverHttp(
  req: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const body = await readJsonBody(req, testFailoverBodySchema, { emptyBody: {} });
  return startWorkflowResponse(df.getClient(context), {
    params: req.params,
    kind: 'TestFailover',
    input: {
      recoveryPoint: body.recoveryPoint,
      ...(body.network ? { network: body.network } : {}),
    },
  });
}

/** POST /api/vms/{rg}/{vm}/test-failover-cleanup (empty body or `{}`). */
export async function testFailoverCleanupHttp(
  req: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  await readJsonBody(req, cleanupBodySchema, { emptyBody: {} });
  return startWorkflowResponse(df.getClient(context), {
    params: req.params,
    kind: 'TestFailoverCleanup',
    input: {},
  });
}

app.http('testFailoverHttp', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'vms/{rg}/{vm}/test-failover',
  extraInputs: [df.input.durableClient()],
  handler: withProblems(testFailoverHttp),
});
app.http('testFailoverCleanupHttp', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'vms/{rg}/{vm}/test-failover-cleanup',
  extraInputs: [df.input.durableClient()],
  handler: withProblems(testFailoverCleanupHttp),
});
