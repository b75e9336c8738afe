import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { z } from 'zod';

import { TidemarkError } from '../shared/errors';
import { loadConfig } from '../shared/config';
import { checkName, type FabricNameKind, nameMessage } from '../shared/fabric/names';
import { type FabricServices, fabricServices } from '../shared/fabric/services';
import { readJsonBody } from '../shared/http/body';
import { json, withProblems } from '../shared/http/handler';
import { findStatus, isInProgress } from '../shared/jobs/durableJobs';
import { checkNotProtected } from '../shared/jobs/enableRules';
import { jobInstanceId } from '../shared/jobs/instanceIds';
import { mapJob } from '../shared/jobs/mapJob';
import { JOB_KINDS } from '../shared/jobs/types';
import { policySchema } from '../shared/recoveryPoints/policy';

let services: FabricServices | undefined;

/** A name by Azure's rule for `kind`, checked in the schema so a bad one is listed in `errors`. */
function named(kind: FabricNameKind): z.ZodType<string> {
  return z.string().superRefine((name, ctx) => {
    const message = nameMessage(kind, name);
    if (message) ctx.addIssue({ code: 'custom', message });
  });
}

const enableBodySchema = z.strictObject({
  targetResourceGroup: named('resourceGroup').optional(),
  targetVnet: named('virtualNetwork').optional(),
  targetAvailabilitySet: named('availabilitySet').optional(),
  policy: policySchema.strict().optional(),
});

/** The body as JSON (empty: no overrides); InvalidRequest listing every bad field otherwise. */
function readEnableBody(req: HttpRequest): Promise<z.output<typeof enableBodySchema>> {
  return readJsonBody(req, enableBodySchema, { emptyBody: {} });
}

/**
 * POST /api/vms/{rg}/{vm}/enable-replication: starts the enable-replication job (202 with the job and
 * its Location). 404 for an unknown VM; 409 when the VM is protected or a job of this kind runs.
 */
export async function enableReplicationHttp(
  req: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const rg = checkName('resourceGroup', req.params.rg ?? '');
  const name = checkName('virtualMachine', req.params.vm ?? '');
  const body = await readEnableBody(req);
  services ??= fabricServices(loadConfig());
  const vm = await services.vms.findVm(rg, name);
  if (!vm) {
    throw new TidemarkError('NotFound', `VM ${rg}/${name} does not exist.`, {
      details: { resourceGroup: rg, vm: name },
    });
  }
  checkNotProtected(await services.protectedItems?.get(vm.resourceGroup, vm.name));
  const client = df.getClient(context);
  const id = jobInstanceId('EnableReplication', vm.resourceGroup, vm.name);
  const running = (): TidemarkError =>
    new TidemarkError(
      'Conflict',
      `Replication of VM ${vm.resourceGroup}/${vm.name} is being enabled (job ${id}).`,
      {
        hint: `Follow it at /api/jobs/${id}.`,
        details: { job: id },
      },
    );
  if (isInProgress(await findStatus(client, id))) throw running();
  const { policy, ...overrides } = body;
  const input = { resourceGroup: vm.resourceGroup, vm: vm.name, overrides, ...(policy ? { policy } : {}) };
  try {
    await client.startNew(JOB_KINDS.EnableReplication, { instanceId: id, input });
  } catch (err) {
    // Started by a concurrent request meanwhile (the engine refuses a second running instance).
    if (isInProgress(await findStatus(client, id))) throw running();
    throw err;
  }
  const status = await findStatus(client, id);
  const job = status
    ? mapJob({ ...status, runtimeStatus: String(status.runtimeStatus) })
    : mapJob({ instanceId: id, name: JOB_KINDS.EnableReplication, runtimeStatus: 'Pending', input });
  const response = json(202, { job });
  response.headers = { location: `/api/jobs/${encodeURIComponent(id)}` };
  return response;
}

app.http('enableReplicationHttp', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'vms/{rg}/{vm}/enable-replication',
  extraInputs: [df.input.durableClient()],
  handler: withProblems(enableReplicationHttp),
});
