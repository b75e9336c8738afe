import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';

import { getJob, listJobs } from '../shared/jobs/durableJobs';
import { json, withProblems } from '../shared/http/handler';

/** GET /api/jobs: every job (enable, failover, ...), newest first. */
export async function listJobsHttp(_req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return json(200, { jobs: await listJobs(df.getClient(context)) });
}

/** GET /api/jobs/{id}: one job with its steps; 404 when unknown. */
export async function getJobHttp(req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return json(200, await getJob(df.getClient(context), req.params.id ?? ''));
}

app.http('listJobs', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'jobs',
  extraInputs: [df.input.durableClient()],
  handler: withProblems(listJobsHttp),
});
app.http('getJob', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'jobs/{id}',
  extraInputs: [df.input.durableClient()],
  handler: withProblems(getJobHttp),
});
