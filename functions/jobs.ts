import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { z } from 'zod';

import { nameMessage } from '../shared/fabric/names';
import { validate } from '../shared/http/body';
import { json, withProblems } from '../shared/http/handler';
import {
  DEFAULT_TOP,
  encodeToken,
  pageLinks,
  queryValues,
  tokenSchema,
  topSchema,
} from '../shared/http/paging';
import { getJob, type JobCursor, type JobListQuery, listJobsPage } from '../shared/jobs/durableJobs';
import { JOB_STATES, type JobVm } from '../shared/jobs/types';

const cursorSchema: z.ZodType<JobCursor> = z.strictObject({
  startedAt: z
    .string()
    .max(40)
    .refine((t) => !Number.isNaN(Date.parse(t)))
    .nullable(),
  id: z.string().min(1).max(256),
});

/** `?vm=rg/name`: both names by Azure's rules. */
const vmFilterSchema = z.string().transform((text, ctx): JobVm => {
  const [resourceGroup = '', name, ...rest] = text.split('/');
  if (name === undefined || rest.length > 0) {
    ctx.addIssue({ code: 'custom', message: 'must be RESOURCE_GROUP/VM_NAME' });
    return z.NEVER;
  }
  const problem = nameMessage('resourceGroup', resourceGroup) ?? nameMessage('virtualMachine', name);
  if (problem) {
    ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  return { resourceGroup, name };
});

const querySchema = z.object({
  top: topSchema.optional(),
  continuationToken: tokenSchema(cursorSchema).optional(),
  state: z.enum(JOB_STATES, { error: `must be one of ${JOB_STATES.join(', ')}` }).optional(),
  vm: vmFilterSchema.optional(),
});

const QUERY_KEYS = ['top', 'continuationToken', 'state', 'vm'] as const;

/** The list's query, validated: 400 naming each bad parameter. */
export function parseJobListQuery(query: URLSearchParams): JobListQuery {
  const parsed = validate(querySchema, queryValues(query, QUERY_KEYS), 'query');
  return {
    top: parsed.top ?? DEFAULT_TOP,
    ...(parsed.continuationToken ? { after: parsed.continuationToken } : {}),
    ...(parsed.state ? { state: parsed.state } : {}),
    ...(parsed.vm ? { vm: parsed.vm } : {}),
  };
}

/**
 * GET /api/jobs[?top=&continuationToken=&state=&vm=rg/name]: the jobs (enable, failover, ...), newest
 * first, a page at a time: `{jobs, continuationToken?, nextLink?}`. 400 for a bad parameter.
 */
export async function listJobsHttp(req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const query = parseJobListQuery(req.query);
  const page = await listJobsPage(df.getClient(context), query);
  const filters = {
    state: query.state,
    vm: query.vm ? `${query.vm.resourceGroup}/${query.vm.name}` : undefined,
  };
  const token = page.next ? encodeToken(page.next) : null;
  return json(200, { jobs: page.jobs, ...pageLinks(new URL(req.url).pathname, filters, query.top, token) });
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
