import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { z } from 'zod';

import { readJsonBody } from '../shared/http/body';
import { withProblems } from '../shared/http/handler';
import { startWorkflowResponse } from '../shared/http/workflowRoute';

/**
 * POST /api/vms/{rg}/{vm}/reprotect: after a committed failover, replicates the failed-over VM back
 * (202 with the job). The body is empty or `{}`. 404 for an unprotected VM; 409 unless the item is
 * FailoverCommitted with no job running.
 */
export async function reprotectHttp(req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  await readJsonBody(req, z.strictObject({}), { emptyBody: {} });
  return startWorkflowResponse(df.getClient(context), { kind: 'Reprotect', params: req.params });
}

app.http('reprotectHttp', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'vms/{rg}/{vm}/reprotect',
  extraInputs: [df.input.durableClient()],
  handler: withProblems(reprotectHttp),
});
