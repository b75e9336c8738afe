import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { z } from 'zod';

import { TidemarkError } from '../shared/errors';
import { checkName } from '../shared/fabric/names';
import { validate } from '../shared/http/body';
import { json, withProblems } from '../shared/http/handler';
import { newestFirst, parseRecoveryPointId, type RecoveryPoint } from '../shared/recoveryPoints/types';
import { findProtectedItem } from '../shared/workflows/findItem';
import { workflowServices } from '../shared/workflows/services';

export const DEFAULT_TOP = 100;
export const MAX_TOP = 1000;

/** A point as the API lists it: times as ISO, `time` being the source's time. */
export interface RecoveryPointView {
  id: string;
  time: string;
  cutAt: string;
  type: RecoveryPoint['type'];
  sequence: number;
  generation: number;
}

/**
 * The continuation token is opaque to clients: base64url of `{"after": "rp-<g>-<s>"}`, the last point
 * of the page before. Points are ordered by generation and sequence, so a page goes on right after that
 * point even when newer points were cut or that one was pruned meanwhile.
 */
function encodeToken(after: RecoveryPoint): string {
  return Buffer.from(JSON.stringify({ after: after.id })).toString('base64url');
}

const tokenSchema = z.strictObject({
  after: z.string().refine((id) => parseRecoveryPointId(id) !== undefined),
});

const BAD_TOKEN = 'is not a token this API gave out; start again without it';

function decodeToken(token: string): { generation: number; sequence: number } | string {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(token)) return BAD_TOKEN;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return BAD_TOKEN;
  }
  const parsed = tokenSchema.safeParse(value);
  return parsed.success ? parseRecoveryPointId(parsed.data.after)! : BAD_TOKEN;
}

const querySchema = z.object({
  top: z
    .string()
    .regex(/^[1-9][0-9]{0,3}$/, `must be a whole number from 1 to ${MAX_TOP}`)
    .transform(Number)
    .refine((n) => n <= MAX_TOP, `must be a whole number from 1 to ${MAX_TOP}`)
    .optional(),
  continuationToken: z
    .string()
    .transform((token, ctx) => {
      const decoded = decodeToken(token);
      if (typeof decoded === 'string') {
        ctx.addIssue({ code: 'custom', message: decoded });
        return z.NEVER;
      }
      return decoded;
    })
    .optional(),
});

export interface PageQuery {
  top: number;
  after?: { generation: number; sequence: number };
}

/** `?top=` and `?continuationToken=`, validated (InvalidRequest naming each bad one). */
export function parsePageQuery(query: URLSearchParams): PageQuery {
  const raw: Record<string, string> = {};
  for (const key of ['top', 'continuationToken'] as const) {
    const value = query.get(key);
    if (value !== null) raw[key] = value;
  }
  const parsed = validate(querySchema, raw, 'query');
  return {
    top: parsed.top ?? DEFAULT_TOP,
    ...(parsed.continuationToken ? { after: parsed.continuationToken } : {}),
  };
}

function view(p: RecoveryPoint): RecoveryPointView {
  return {
    id: p.id,
    time: new Date(p.time).toISOString(),
    cutAt: new Date(p.cutAt).toISOString(),
    type: p.type,
    sequence: p.sequence,
    generation: p.generation,
  };
}

/** One page of `points` (any order), newest first, and the token of the next page (null at the end). */
export function pageOfPoints(
  points: readonly RecoveryPoint[],
  query: PageQuery,
): { page: RecoveryPoint[]; next: string | null } {
  const sorted = [...points].sort(newestFirst);
  const after = query.after;
  const rest = after ? sorted.filter((p) => newestFirst(after, p) < 0) : sorted;
  const page = rest.slice(0, query.top);
  const last = page[page.length - 1];
  return { page, next: rest.length > page.length && last ? encodeToken(last) : null };
}

/**
 * GET /api/vms/{rg}/{vm}/recovery-points[?top=&continuationToken=]: the VM's recovery points, newest
 * first, a page at a time. 404 when the VM is not protected; 400 for a bad `top` or token.
 */
export async function listRecoveryPointsHttp(req: HttpRequest): Promise<HttpResponseInit> {
  const rg = checkName('resourceGroup', req.params.rg ?? '');
  const name = checkName('virtualMachine', req.params.vm ?? '');
  const query = parsePageQuery(req.query);
  const found = await findProtectedItem(rg, name);
  if (!found) {
    throw new TidemarkError('NotFound', `VM ${rg}/${name} is not protected.`, {
      hint: 'Only a protected VM has recovery points; GET /api/vms lists the VMs and their protection.',
      details: { resourceGroup: rg, vm: name },
    });
  }
  const { item, direction } = found;
  const points = await workflowServices(direction).points.catalog.list(item.resourceGroup, item.vm);
  const { page, next } = pageOfPoints(points, query);
  const base = `/api/vms/${encodeURIComponent(item.resourceGroup)}/${encodeURIComponent(item.vm)}/recovery-points`;
  return json(200, {
    recoveryPoints: page.map(view),
    continuationToken: next,
    nextLink: next ? `${base}?top=${query.top}&continuationToken=${next}` : null,
  });
}

app.http('listRecoveryPoints', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'vms/{rg}/{vm}/recovery-points',
  handler: withProblems(listRecoveryPointsHttp),
});
