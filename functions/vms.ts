import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';

import { loadConfig } from '../shared/config';
import { checkName } from '../shared/fabric/names';
import { type FabricServices, fabricServices } from '../shared/fabric/services';
import { putVmBodySchema, putVmInput } from '../shared/fabric/vmRequest';
import { describeVm, listVmSummaries, type VmViewSources } from '../shared/fabric/vmViews';
import { readJsonBody } from '../shared/http/body';
import { json, withProblems } from '../shared/http/handler';
import { classifyError } from '../shared/http/problem';
import { findProtectedItem } from '../shared/workflows/findItem';

let services: (FabricServices & Pick<VmViewSources, 'findItem'>) | undefined;

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
    services = { ...fabric, ...(bothRegions ? { findItem } : {}) };
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

/** GET /api/vms[?region=]: the VMs of every region (or one), with NBD endpoint and protection summary. */
export async function listVms(req: HttpRequest): Promise<HttpResponseInit> {
  const region = req.query.get('region') || undefined;
  return json(200, { vms: await listVmSummaries(sources(), region) });
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
