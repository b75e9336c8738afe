/**
 * The alert hook end to end: tidemark's compiled app in the local host against two Azurites, VM
 * runners, and VMs protected through the API. Azure Monitor alerts (the common alert schema, from
 * test/fixtures/alerts) posted to POST /api/alerts start a Failover job per protected VM they name,
 * once per alert id. Whether the failover then succeeds is the failover workflow's business: it is
 * checked only when that workflow is built (dist/orchestrations/failover.js). Build first
 * (`npm run build`; npm test does it).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TableAlertRecordStore } from '../../../shared/alerts/records';
import type { Job } from '../../../shared/jobs/types';
import { type ProtectedItem, TableProtectedItemStore } from '../../../shared/protectedItems';
import {
  protectVmByHand,
  REPO_ROOT,
  startTidemarkStack,
  type TidemarkStack,
} from '../../helpers/tidemarkHost';
import { startWorkflowStack, type WorkflowStack } from '../../helpers/workflowStack';

const FAILOVER_BUILT = fs.existsSync(path.join(REPO_ROOT, 'dist', 'orchestrations', 'failover.js'));
const SUB = '/subscriptions/11111111-2222-3333-4444-555555555555';
const RG = 'alert-rg';
const SECRET = 'e2e-alert-secret-0123456789';

type Body = Record<string, unknown>;
interface Answer {
  status: number;
  contentType: string;
  body: Body;
}

function fixture(name: string): Body {
  return JSON.parse(
    fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'alerts', name), 'utf8'),
  ) as Body;
}

const vmId = (rg: string, vm: string): string =>
  `${SUB}/resourcegroups/${rg}/providers/microsoft.compute/virtualmachines/${vm}`.toLowerCase();

/** A fired metric alert (fixture) with a new alert id and the given targets. */
function metricAlert(targets: string[], condition: 'Fired' | 'Resolved' = 'Fired'): Body {
  const alert = fixture(condition === 'Fired' ? 'metric-vm-fired.json' : 'metric-vm-resolved.json');
  const essentials = (alert.data as { essentials: Body }).essentials;
  essentials.alertId = `${SUB}/providers/Microsoft.AlertsManagement/alerts/${crypto.randomUUID()}`;
  essentials.alertTargetIDs = targets;
  essentials.configurationItems = targets.map((t) => t.split('/').pop() ?? t);
  return alert;
}

const alertIdOf = (alert: Body): string =>
  (alert.data as { essentials: { alertId: string } }).essentials.alertId;

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    body: text ? (JSON.parse(text) as Body) : {},
  };
}

describe('alert hook through the local host', () => {
  let stack: WorkflowStack;
  let items: TableProtectedItemStore;
  let records: TableAlertRecordStore;

  const hook = (query = ''): string => `${stack.host.url}/api/alerts${query}`;
  const key = (): Record<string, string> => ({ 'x-functions-key': stack.host.keys.functionKey });
  const send = (alert: unknown, query = ''): Promise<Answer> => post(hook(query), alert, key());
  const item = async (vm: string): Promise<ProtectedItem> => (await items.get(RG, vm))!;

  async function failoverJobs(vm?: string): Promise<Job[]> {
    const jobs = (await stack.api('GET', 'jobs')).body.jobs as Job[];
    return jobs.filter((j) => j.kind === 'Failover' && (vm === undefined || j.vm?.name === vm));
  }

  /** A fired alert's answer: 202 with one Failover job per VM, or (no failover workflow built) the reason it could not start. */
  async function expectStarted(answer: Answer, vms: string[]): Promise<string[]> {
    const jobs = answer.body.jobs as { vm: { resourceGroup: string; name: string }; jobId: string }[];
    if (!FAILOVER_BUILT) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(jobs).toEqual([]);
      const skipped = answer.body.skipped as { vm?: { name: string }; reason: string }[];
      expect(skipped.map((s) => s.vm?.name)).toEqual(vms);
      for (const s of skipped) expect(s.reason).toMatch(/could not be started/);
      for (const vm of vms) expect((await item(vm)).state).toBe('Protected');
      return [];
    }
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    expect(jobs.map((j) => j.vm)).toEqual(vms.map((name) => ({ resourceGroup: RG, name })));
    for (const { jobId, vm } of jobs) {
      const got = await stack.api('GET', `jobs/${encodeURIComponent(jobId)}`);
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({ id: jobId, kind: 'Failover', vm });
    }
    return jobs.map((j) => j.jobId);
  }

  beforeAll(async () => {
    stack = await startWorkflowStack();
    items = TableProtectedItemStore.fromConnectionString(stack.target.connectionString);
    records = TableAlertRecordStore.fromConnectionString(stack.target.connectionString);
    for (const vm of ['web1', 'app1']) {
      await stack.protectVm({ resourceGroup: RG, vm, disksMiB: [{ name: 'os', sizeMiB: 4 }] });
    }
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('refuses an alert without the function key (401)', async () => {
    const answer = await post(hook(), metricAlert([vmId(RG, 'web1')]));
    expect(answer.status).toBe(401);
    expect(await failoverJobs()).toEqual([]);
  });

  it('refuses malformed alerts and a bad query (400 problem+json), starting nothing', async () => {
    const missingId = await send(fixture('malformed-missing-alert-id.json'));
    expect(missingId.status).toBe(400);
    expect(missingId.contentType).toContain('application/problem+json');
    expect(missingId.body.errors).toEqual([{ path: 'data.essentials.alertId', message: expect.any(String) }]);

    const bad = await send(fixture('malformed-bad-condition-and-targets.json'));
    expect(bad.status).toBe(400);
    expect((bad.body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'data.essentials.alertTargetIDs',
      'data.essentials.monitorCondition',
    ]);

    const old = await send(fixture('non-common-metric-alert.json'));
    expect(old.status).toBe(400);
    expect(old.body.detail).toMatch(/not in Azure Monitor's common alert schema/);
    expect(old.body.hint).toMatch(/Enable the common alert schema/);

    expect((await send('{not json')).status).toBe(400);
    expect((await send('')).status).toBe(400);

    const query = await send(metricAlert([vmId(RG, 'web1')]), '?recoveryPoint=yesterday');
    expect(query.status).toBe(400);
    expect((query.body.errors as { path: string }[]).map((e) => e.path)).toEqual(['recoveryPoint']);

    expect(await failoverJobs()).toEqual([]);
    expect((await item('web1')).state).toBe('Protected');
  });

  it('ignores a resolved alert', async () => {
    const alert = metricAlert([vmId(RG, 'web1')], 'Resolved');
    const answer = await send(alert);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ alertId: alertIdOf(alert), ignored: 'resolved' });
    expect(await records.get(alertIdOf(alert))).toBeUndefined();
    expect(await failoverJobs()).toEqual([]);
  });

  it('skips a resource that is no protected VM (200, nothing started)', async () => {
    const other = `${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/nosuch`;
    const answer = await send(metricAlert([other]));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      dryRun: false,
      jobs: [],
      skipped: [{ target: other, reason: `VM ${RG}/nosuch is not protected.` }],
    });
    expect(await failoverJobs()).toEqual([]);
  });

  it('dry run: says what it would start; no record, nothing started, the item unchanged', async () => {
    const before = await item('web1');
    const alert = metricAlert([vmId(RG, 'web1')]);
    const answer = await send(alert, '?dryRun=true&recoveryPoint=latest');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      dryRun: true,
      recoveryPoint: 'latest',
      alreadyHandled: false,
      wouldStart: [{ vm: { resourceGroup: RG, name: 'web1' }, direction: 'forward', state: 'Protected' }],
      jobs: [],
      skipped: [],
    });
    expect(await records.get(alertIdOf(alert))).toBeUndefined();
    expect(await failoverJobs()).toEqual([]);
    const after = await item('web1');
    expect(after.state).toBe('Protected');
    expect(after.activeJob).toBeUndefined();
    expect(after.generation).toBe(before.generation);
  });

  let web1Jobs: string[] = [];

  it('starts a Failover job for the VM a fired alert names; posted again, it starts nothing', async () => {
    const alert = metricAlert([vmId(RG, 'web1')]);
    const first = await send(alert);
    web1Jobs = await expectStarted(first, ['web1']);
    expect(first.body).toMatchObject({
      alertId: alertIdOf(alert),
      dryRun: false,
      recoveryPoint: 'latestProcessed',
    });

    const again = await send(alert);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ duplicate: true, jobs: first.body.jobs, skipped: first.body.skipped });
    expect((await failoverJobs('web1')).map((j) => j.id)).toEqual(web1Jobs);
    expect(await records.get(alertIdOf(alert))).toMatchObject({ state: 'Done' });
    // Every decision is logged with the alert id.
    const logged = stack.logger.records.map((r) => r.msg).filter((m) => m.includes(alertIdOf(alert)));
    for (const what of ['alert: received', 'alert: deduplicated']) {
      expect(
        logged.some((m) => m.startsWith(what)),
        what,
      ).toBe(true);
    }
    if (FAILOVER_BUILT) expect(logged.some((m) => m.startsWith('alert: failover started'))).toBe(true);
  });

  it('starts one set of jobs for two copies of a new alert arriving at once', async () => {
    const alert = metricAlert([vmId(RG, 'app1')]);
    const answers = await Promise.all([send(alert), send(alert)]);
    const firsts = answers.filter((a) => a.body.duplicate !== true);
    const copies = answers.filter((a) => a.body.duplicate === true);
    expect(firsts).toHaveLength(1);
    expect(copies).toHaveLength(1);
    const jobs = await expectStarted(firsts[0]!, ['app1']);
    expect(copies[0]!.status).toBe(200);
    expect(copies[0]!.body.jobs).toEqual(firsts[0]!.body.jobs);
    expect((await failoverJobs('app1')).map((j) => j.id)).toEqual(jobs);
  });

  it('maps a Service Health incident in "East US" to the VMs that run in eastus (dry run)', async () => {
    const alert = fixture('service-health-incident.json');
    const answer = await send(alert, '?dryRun=true');
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const wouldStart = answer.body.wouldStart as { vm: { name: string } }[];
    const skipped = answer.body.skipped as { vm?: { name: string }; target?: string }[];
    // Both protected VMs run in eastus; by now they are failing (or failed) over, so they may be skipped.
    expect([...wouldStart.map((w) => w.vm.name), ...skipped.map((s) => s.vm?.name)].sort()).toEqual([
      'app1',
      'web1',
    ]);
    expect(skipped.filter((s) => s.target !== undefined)).toEqual([]);
  });

  it.runIf(FAILOVER_BUILT)(
    'never changes the point of a failed-over VM',
    async () => {
      for (const id of web1Jobs) await stack.waitForJob(id, { timeoutMs: 120_000 });
      expect((await item('web1')).state).toBe('FailedOver');
      const answer = await send(metricAlert([vmId(RG, 'web1')]));
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        jobs: [],
        skipped: [
          { vm: { resourceGroup: RG, name: 'web1' }, reason: expect.stringMatching(/already failed over/) },
        ],
      });
      expect((await failoverJobs('web1')).map((j) => j.id)).toEqual(web1Jobs);
    },
    150_000,
  );
});

describe('alert hook with TIDEMARK_ALERT_SECRET set', () => {
  let stack: TidemarkStack;
  let items: TableProtectedItemStore;
  let records: TableAlertRecordStore;

  const hook = (query = ''): string => `${stack.host.url}/api/alerts${query}`;
  const key = { 'x-functions-key': '' };

  beforeAll(async () => {
    stack = await startTidemarkStack({ TIDEMARK_ALERT_SECRET: SECRET });
    key['x-functions-key'] = stack.host.keys.functionKey;
    items = TableProtectedItemStore.fromConnectionString(stack.target.connectionString);
    records = TableAlertRecordStore.fromConnectionString(stack.target.connectionString);
    await protectVmByHand(stack, {
      resourceGroup: RG,
      vm: 'web2',
      disks: [{ lun: 0, name: 'os', sizeBytes: 1024 * 1024 }],
      flushIntervalMs: 1000,
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  async function nothingStarted(alert: Body): Promise<void> {
    expect(await records.get(alertIdOf(alert))).toBeUndefined();
    const item = await items.get(RG, 'web2');
    expect(item?.state).toBe('Protected');
    expect(item?.activeJob).toBeUndefined();
    const jobs = await fetch(`${stack.host.url}/api/jobs`, { headers: key });
    expect(((await jobs.json()) as { jobs: Job[] }).jobs).toEqual([]);
  }

  it('refuses an alert without the secret or with a wrong one (401), starting nothing', async () => {
    const alert = metricAlert([vmId(RG, 'web2')]);
    const missing = await post(hook(), alert, key);
    expect(missing.status).toBe(401);
    expect(missing.contentType).toContain('application/problem+json');
    expect(missing.body).toMatchObject({ code: 'Unauthorized', hint: expect.stringMatching(/secret/) });
    expect((await post(hook('?secret=wrong-secret-0123456789'), alert, key)).status).toBe(401);
    expect((await post(hook(), alert, { ...key, 'x-tidemark-alert-secret': `${SECRET}x` })).status).toBe(401);
    // The secret never stands in for the function key.
    expect((await post(hook(`?secret=${SECRET}`), alert)).status).toBe(401);
    await nothingStarted(alert);
  });

  it('accepts the secret in the query or the header', async () => {
    const alert = metricAlert([vmId(RG, 'web2')]);
    const dry = await post(hook(`?secret=${encodeURIComponent(SECRET)}&dryRun=true`), alert, key);
    expect(dry.status, JSON.stringify(dry.body)).toBe(200);
    expect(dry.body).toMatchObject({
      dryRun: true,
      wouldStart: [{ vm: { resourceGroup: RG, name: 'web2' } }],
    });
    await nothingStarted(alert);

    const real = await post(hook(), alert, { ...key, 'x-tidemark-alert-secret': SECRET });
    expect(real.status, JSON.stringify(real.body)).toBe(FAILOVER_BUILT ? 202 : 200);
    expect(await records.get(alertIdOf(alert))).toMatchObject({ state: 'Done' });
    if (FAILOVER_BUILT) {
      const jobId = (real.body.jobs as { jobId: string }[])[0]!.jobId;
      const job = await fetch(`${stack.host.url}/api/jobs/${encodeURIComponent(jobId)}`, { headers: key });
      expect(await job.json()).toMatchObject({ kind: 'Failover', vm: { resourceGroup: RG, name: 'web2' } });
    }
  });
});
