import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { z } from 'zod';

import { loadConfig } from '../shared/config';
import { checkName, nameMessage } from '../shared/fabric/names';
import { type FabricServices, fabricServices } from '../shared/fabric/services';
import { putVmBodySchema, putVmInput } from '../shared/fabric/vmRequest';
import {
  describeVm,
  listVmPage,
  type VmCursor,
  type VmListQuery,
  type VmViewSources,
} from '../shared/fabric/vmViews';
import { readJsonBody, validate } from '../shared/http/body';
import { json, withProblems } from '../shared/http/handler';
import {
  DEFAULT_TOP,
  encodeToken,
  pageLinks,
  queryValues,
  tokenSchema,
  topSchema,
} from '../shared/http/paging';
import { classifyError } from '../shared/http/problem';
import { findProtectedItem } from '../shared/workflows/findItem';
import { workflowServices } from '../shared/workflows/services';

let services: (FabricServices & Pick<VmViewSources, 'findItem' | 'reverseItems'>) | undefined;

/**
 * A VM's item in either direction. The reverse items live in the source region: when it is down, a
 * VM's detail still shows its forward item (or none) rather than failing.
 */
async function findItemOrForward(
  forward: FabricServices['protectedItems'],
  resourceGroup: string,
  vm: string,
): ReturnType<NonNullable<VmViewSources['findItem']>> {
  try {
    return await findProtectedItem(resourceGroup, vm);
  } catch (err) {
    if (classifyError(err).code !== 'StorageUnavailable') throw err;
    const item = await forward?.get(resourceGroup, vm);
    return item && { item, direction: 'forward' };
  }
}

/** The fabric, and protected items of both directions when both regions have storage. */
function sources(): VmViewSources {
  if (!services) {
    const config = loadConfig();
    const fabric = fabricServices(config);
    const bothRegions = Boolean(config.source.connectionString && config.target.connectionString);
    const findItem: VmViewSources['findItem'] = (rg, vm) => findItemOrForward(fabric.protectedItems, rg, vm);
    services = {
      ...fabric,
      ...(bothRegions ? { findItem, reverseItems: workflowServices('reverse').items } : {}),
    };
  }
  return { ...services, now: Date.now() };
}

/** The `{rg}/{vm}` of the route, checked by Azure's naming rules (400 saying the rule). */
function vmParams(req: HttpRequest): { resourceGroup: string; vm: string } {
  return {
    resourceGroup: checkName('resourceGroup', req.params.rg ?? ''),
    vm: checkName('virtualMachine', req.params.vm ?? ''),
  };
}

const cursorSchema: z.ZodType<VmCursor> = z.strictObject({
  region: z.string().min(1).max(100),
  resourceGroup: z.string().refine((n) => nameMessage('resourceGroup', n) === undefined),
  name: z.string().refine((n) => nameMessage('virtualMachine', n) === undefined),
});

/** The list's query for the fabric's `regions` (lower-case): an unknown region is named in `errors`. */
function listQuerySchema(regions: readonly string[]) {
  return z.object({
    top: topSchema.optional(),
    continuationToken: tokenSchema(cursorSchema).optional(),
    region: z
      .string()
      .transform((r) => r.trim())
      .superRefine((r, ctx) => {
        // An empty `?region=` means every region, as before paging.
        if (r !== '' && !regions.includes(r.toLowerCase()))
          ctx.addIssue({ code: 'custom', message: `must be one of ${regions.join(', ')}` });
      })
      .optional(),
  });
}

const LIST_QUERY_KEYS = ['top', 'continuationToken', 'region'] as const;

/** The list's query, validated against the fabric's regions: 400 naming each bad parameter. */
export function parseVmListQuery(query: URLSearchParams, regions: readonly string[]): VmListQuery {
  const parsed = validate(listQuerySchema(regions), queryValues(query, LIST_QUERY_KEYS), 'query');
  return {
    top: parsed.top ?? DEFAULT_TOP,
    ...(parsed.continuationToken ? { after: parsed.continuationToken } : {}),
    ...(parsed.region ? { region: parsed.region } : {}),
  };
}

/**
 * GET /api/vms[?region=&top=&continuationToken=]: the VMs of every region (or one), source region
 * first, then by group and name, with NBD endpoint and protection summary, a page at a time:
 * `{vms, continuationToken?, nextLink?}`. 400 for a bad parameter.
 */
export async function listVms(req: HttpRequest): Promise<HttpResponseInit> {
  const src = sources();
  const query = parseVmListQuery(req.query, src.fabric.names());
  const page = await listVmPage(src, query);
  const token = page.next ? encodeToken(page.next) : null;
  return json(200, {
    vms: page.vms,
    ...pageLinks(new URL(req.url).pathname, { region: query.region }, query.top, token),
  });
}

/** GET /api/vms/{rg}/{vm}: the VM with its NICs, disks, NBD endpoint and protected item. */
export async function getVm(req: HttpRequest): Promise<HttpResponseInit> {
  const { resourceGroup, vm } = vmParams(req);
  return json(200, await describeVm(sources(), resourceGroup, vm));
}

/** PUT /api/vms/{rg}/{vm}: creates the VM (201) or changes it (200); see shared/fabric/vmService.ts. */
export async function putVm(req: HttpRequest): Promise<HttpResponseInit> {
  const { resourceGroup, vm } = vmParams(req);
  const body = await readJsonBody(req, putVmBodySchema);
  const src = sources();
  const result = await src.vms.createOrUpdateVm(putVmInput(resourceGroup, vm, body));
  const detail = await describeVm(src, result.vm.resourceGroup, result.vm.name);
  const response = json(result.created ? 201 : 200, detail);
  if (result.created)
    response.headers = {
      location: `/api/vms/${encodeURIComponent(detail.resourceGroup)}/${encodeURIComponent(detail.name)}`,
    };
  return response;
}

app.http('listVms', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'vms',
  handler: withProblems(listVms),
});
app.http('getVm', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'vms/{rg}/{vm}',
  handler: withProblems(getVm),
});
app.http('putVm', {
  methods: ['PUT'],
  authLevel: 'function',
  route: 'vms/{rg}/{vm}',
  handler: withProblems(putVm),
});
