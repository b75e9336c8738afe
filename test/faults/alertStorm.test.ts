/**
 * Fault 7: an alert storm. Azure Monitor retries and fans out: the same fired alert arrives 100 times
 * at once at POST /api/alerts, and exactly one failover job starts (the alert's record, claimed once
 * per alert id). Then 30 different alerts naming one other VM arrive at once: still exactly one
 * failover job for it (the protected item's claim). Both failovers succeed with one VM each.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TableFabricStore } from '../../shared/fabric/tableFabricStore';
import type { Job } from '../../shared/jobs/types';
import { TableProtectedItemStore } from '../../shared/protectedItems';
import { REPO_ROOT } from '../helpers/tidemarkHost';
import { type FaultStack, FUNCTION_KEY, startFaultStack } from './support/faultStack';

const SUB = '/subscriptions/11111111-2222-3333-4444-555555555555';
const RG = 'storm-rg';

function vmResourceId(vm: string): string {
  return `${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/${vm}`;
}

/** A fired metric alert (the common alert schema fixture) with a new alert id, naming `vm`. */
function firedAlert(vm: string): Record<string, unknown> {
  const alert = JSON.parse(
    fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'alerts', 'metric-vm-fired.json'), 'utf8'),
  ) as { data: { essentials: Record<string, unknown> } };
  alert.data.essentials.alertId = `${SUB}/providers/Microsoft.AlertsManagement/alerts/${crypto.randomUUID()}`;
  alert.data.essentials.alertTargetIDs = [vmResourceId(vm)];
  alert.data.essentials.configurationItems = [vm];
  return alert;
}

describe('fault: an alert storm', () => {
  let stack: FaultStack;

  async function post(alert: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${stack.host().url}/api/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-functions-key': FUNCTION_KEY },
      body: JSON.stringify(alert),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  async function failovers(vm: string): Promise<Job[]> {
    const jobs = (await stack.api('GET', 'jobs')).body.jobs as Job[];
    return jobs.filter((j) => j.kind === 'Failover' && j.vm?.name === vm);
  }

  beforeAll(async () => {
    stack = await startFaultStack();
    for (const vm of ['web1', 'web2']) {
      await stack.putVm(RG, vm, [{ name: 'os', sizeMiB: 2 }]);
      await stack.waitForJob(await stack.startJob(`vms/${RG}/${vm}/enable-replication`), 180_000);
    }
  }, 420_000);

  afterAll(async () => {
    await stack?.stop();
  }, 120_000);

  it('100 copies of one alert at once start exactly one failover', async () => {
    const alert = firedAlert('web1');
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 100 }, () => post(alert)));
    console.log(`[faults] alert storm: 100 identical alerts answered in ${Date.now() - started} ms`);
    expect(
      answers.filter((a) => a.status >= 400).map((a) => `${a.status} ${JSON.stringify(a.body)}`),
    ).toEqual([]);
    const firsts = answers.filter((a) => a.status === 202);
    expect(firsts).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200 && a.body.duplicate === true)).toHaveLength(99);
    const jobIds = (firsts[0]!.body.jobs as { jobId: string }[]).map((j) => j.jobId);
    expect(jobIds).toHaveLength(1);
    expect((await failovers('web1')).map((j) => j.id)).toEqual(jobIds);
    await stack.waitForJob(jobIds[0]!, 180_000);
    // Every duplicate that saw the decision names the same job.
    for (const a of answers.filter((x) => x.body.inProgress !== true)) {
      expect((a.body.jobs as { jobId: string }[]).map((j) => j.jobId)).toEqual(jobIds);
    }
    expect((await failovers('web1')).map((j) => j.id)).toEqual(jobIds);
    const vms = await TableFabricStore.fromConnectionString(
      'westus',
      stack.target.connectionString,
    ).virtualMachines.list(`${RG}-asr`);
    expect(vms.map((v) => v.name)).toEqual(['web1']);
  }, 300_000);

  it('30 different alerts naming one VM at once start exactly one failover', async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, () => post(firedAlert('web2'))));
    expect(
      answers.filter((a) => a.status >= 400).map((a) => `${a.status} ${JSON.stringify(a.body)}`),
    ).toEqual([]);
    const started = answers.flatMap((a) => (a.body.jobs as { jobId: string }[] | undefined) ?? []);
    expect(started).toHaveLength(1);
    expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
    // The others were skipped with the reason: the item is already failing over (or failed over).
    for (const a of answers.filter((x) => x.status === 200)) {
      expect((a.body.skipped as { reason: string }[]).map((s) => s.reason).join(' ')).toMatch(/web2/);
    }
    await stack.waitForJob(started[0]!.jobId, 180_000);
    expect((await failovers('web2')).map((j) => j.id)).toEqual([started[0]!.jobId]);
    const item = await TableProtectedItemStore.fromConnectionString(stack.target.connectionString).get(
      RG,
      'web2',
    );
    expect(item).toMatchObject({ state: 'FailedOver' });
    const vms = await TableFabricStore.fromConnectionString(
      'westus',
      stack.target.connectionString,
    ).virtualMachines.list(`${RG}-asr`);
    expect(vms.map((v) => v.name).sort()).toEqual(['web1', 'web2']);
  }, 300_000);
});
