/**
 * Enable replication end to end: tidemark's compiled app in the local host against two Azurites, a
 * fabric VM made through the API, and its mobility agent. POST enable-replication starts the job;
 * its steps run in order while qemu-io keeps writing to the VM's disks; then the replicas converge
 * with the source disks. Build first (`npx tsc -p tsconfig.build.json`; npm test does it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MobilityAgent } from '../../../agent/agent';
import { RecordingLogger } from '../../../shared/logger';
import type { Job } from '../../../shared/jobs/types';
import { TableProtectedItemStore } from '../../../shared/protectedItems';
import { CONTAINERS } from '../../../shared/storageNames';
import { checkTools, qemuIo } from '../../helpers/nbdTools';
import { startTidemarkStack, type TidemarkStack } from '../../helpers/tidemarkHost';
import { waitFor } from '../../helpers/waitFor';

const tools = checkTools('qemu-io');
const MiB = 1024 * 1024;
const DISKS = [
  { name: 'os', sizeGiB: 8 / 1024 },
  { name: 'data', sizeGiB: 4 / 1024 },
];
const STEPS = [
  'Prerequisites check',
  'Identifying replication target',
  'Enable replication',
  'Waiting for the agent',
  'Initial replication',
  'Start continuous replication',
  'Creating the first recovery point',
];

interface Answer {
  status: number;
  contentType: string;
  headers: Headers;
  body: Record<string, unknown>;
}

describe.skipIf(tools.skip)(`enable replication through the local host${tools.note}`, () => {
  let stack: TidemarkStack;
  let agent: MobilityAgent;
  let nbdPort: number;

  async function api(method: string, route: string, body?: unknown): Promise<Answer> {
    const headers: Record<string, string> = { 'x-functions-key': stack.host.keys.functionKey };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${stack.host.url}/api/${route}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? '',
      headers: res.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    };
  }

  async function disksEqual(): Promise<boolean> {
    const source = BlobServiceClient.fromConnectionString(stack.source.connectionString);
    const target = BlobServiceClient.fromConnectionString(stack.target.connectionString);
    for (const d of DISKS) {
      const name = `shop-rg/web1/${d.name}`;
      const [a, b] = await Promise.all([
        source.getContainerClient(CONTAINERS.disks).getBlobClient(name).downloadToBuffer(),
        target.getContainerClient(CONTAINERS.replicas).getBlobClient(name).downloadToBuffer(),
      ]);
      if (!a.equals(b)) return false;
    }
    return true;
  }

  beforeAll(async () => {
    stack = await startTidemarkStack();
    const put = await api('PUT', 'vms/shop-rg/web1', {
      region: 'eastus',
      vnet: 'shop-vnet',
      subnet: 'front',
      size: 'Standard_B1s',
      availabilitySet: 'shop-avset',
      disks: DISKS,
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    agent = new MobilityAgent({
      resourceGroup: 'shop-rg',
      vm: 'web1',
      sourceConnectionString: stack.source.connectionString,
      stateDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-agent-')),
      logger: new RecordingLogger(),
      configPollIntervalMs: 200,
    });
    await agent.start();
    nbdPort = agent.status().nbd.port;
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await stack?.stop();
  });

  it('refuses a bad body (400) and an unknown VM (404), changing nothing', async () => {
    const bad = await api('POST', 'vms/shop-rg/web1/enable-replication', { targetVnet: 5, extra: true });
    expect(bad.status).toBe(400);
    expect(bad.contentType).toContain('application/problem+json');
    expect((bad.body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      '(body)',
      'targetVnet',
    ]);
    const notJson = await api('POST', 'vms/shop-rg/web1/enable-replication', '{nope');
    expect(notJson.status).toBe(400);
    const policy = await api('POST', 'vms/shop-rg/web1/enable-replication', {
      policy: { retentionHours: 9999 },
    });
    expect(policy.status).toBe(400);
    const unknown = await api('POST', 'vms/shop-rg/nosuchvm/enable-replication', {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('NotFound');
    expect((await api('GET', 'jobs')).body).toEqual({ jobs: [] });
    expect((await api('GET', 'jobs/enable-shop-rg-nosuchvm')).status).toBe(404);
  });

  it('runs every step in order while writes flow, and the replicas converge', async () => {
    // Written before enabling: only the initial copy can bring these to the replica.
    expect((await qemuIo(nbdPort, 'os', ['write -P 1 0 1M', 'write -P 2 5M 512k'])).code).toBe(0);
    expect((await qemuIo(nbdPort, 'data', ['write -P 3 1M 64k'])).code).toBe(0);

    const started = await api('POST', 'vms/shop-rg/web1/enable-replication', {
      policy: { retentionHours: 12 },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const id = (started.body.job as Job).id;
    expect(id).toBe('enable-shop-rg-web1');
    expect(started.headers.get('location')).toBe(`/api/jobs/${id}`);
    expect(started.body.job).toMatchObject({ kind: 'EnableReplication', state: 'InProgress' });

    // A second enable while the first runs.
    const again = await api('POST', 'vms/shop-rg/web1/enable-replication', {});
    expect(again.status).toBe(409);
    expect(String(again.body.detail)).toMatch(/being enabled|already protected/);

    // Writes while the job runs (once the agent journals): deltas wait in the cache, applied after.
    let wrote = false;
    const job = await waitFor(
      async () => {
        const got = await api('GET', `jobs/${id}`);
        const j = got.body as unknown as Job;
        if (j.state === 'Failed') throw new Error(`job failed: ${j.error}`);
        const agentReady = j.steps.find((s) => s.name === 'Waiting for the agent')?.state === 'Succeeded';
        if (agentReady && !wrote) {
          wrote = true;
          const r = await qemuIo(nbdPort, 'os', [
            'write -P 7 64k 128k',
            'write -z 5M 4k',
            'write -P 8 7M 1M',
          ]);
          expect(r.code, r.stderr).toBe(0);
        }
        return j.state === 'Succeeded' ? j : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 200, what: 'the enable job to succeed' },
    ).catch(async (err: unknown) => {
      throw new Error(`${String(err)}\n${JSON.stringify((await api('GET', `jobs/${id}`)).body, null, 1)}`);
    });

    expect(wrote).toBe(true);
    expect(job.steps.map((s) => s.name)).toEqual(STEPS);
    let previousEnd = job.startedAt!;
    for (const step of job.steps) {
      expect(step.state, step.name).toBe('Succeeded');
      expect(step.startedAt! >= previousEnd, step.name).toBe(true);
      expect(step.endedAt! >= step.startedAt!, step.name).toBe(true);
      previousEnd = step.endedAt!;
    }
    expect(job.steps.find((s) => s.name === 'Initial replication')?.progress).toBe(100);
    expect(job.result).toMatchObject({
      protectedItem: { resourceGroup: 'shop-rg', vm: 'web1' },
      targetResourceGroup: 'shop-rg-asr',
      targetVnet: { resourceGroup: 'shop-rg-asr', name: 'shop-vnet-asr' },
      targetAvailabilitySet: 'shop-avset-asr',
      generation: 1,
    });
    expect(job.endedAt).not.toBeNull();

    const item = await TableProtectedItemStore.fromConnectionString(stack.target.connectionString).get(
      'shop-rg',
      'web1',
    );
    expect(item).toMatchObject({
      state: 'Protected',
      applyEnabled: true,
      generation: 1,
      policy: { retentionHours: 12 },
      target: { region: 'westus', resourceGroup: 'shop-rg-asr' },
    });
    expect(item?.watermark).toBeGreaterThan(0);
    expect(item?.disks.map((d) => [d.lun, d.name, d.sizeBytes])).toEqual([
      [0, 'os', 8 * MiB],
      [1, 'data', 4 * MiB],
    ]);

    // Writes after: continuous replication.
    expect((await qemuIo(nbdPort, 'data', ['write -P 9 2M 256k', 'discard 1M 32k'])).code).toBe(0);
    await waitFor(() => disksEqual(), {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: 'replicas to match the source',
    });

    const listed = await api('GET', 'jobs');
    expect((listed.body.jobs as Job[]).map((j) => [j.id, j.state])).toEqual([[id, 'Succeeded']]);
    const vm = await api('GET', 'vms/shop-rg/web1');
    expect(vm.body).toMatchObject({ protectedItem: { state: 'Protected' } });
  }, 60_000);

  it('refuses to enable a protected VM again (409)', async () => {
    const again = await api('POST', 'vms/shop-rg/web1/enable-replication', {});
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/already protected/);
  });

  it('fails the job at "Prerequisites check" for a stopped VM, saying what to do', async () => {
    const put = await api('PUT', 'vms/shop-rg/web2', {
      region: 'eastus',
      vnet: 'shop-vnet',
      subnet: 'front',
      size: 'Standard_B1s',
      powerState: 'Stopped',
      disks: [{ name: 'os', sizeGiB: 1 / 1024 }],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const started = await api('POST', 'vms/shop-rg/web2/enable-replication', {});
    expect(started.status).toBe(202);
    const id = (started.body.job as Job).id;
    const job = await waitFor(
      async () => {
        const j = (await api('GET', `jobs/${id}`)).body as unknown as Job;
        return j.state !== 'InProgress' ? j : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: 'the job to end' },
    );
    expect(job.state).toBe('Failed');
    expect(job.error).toMatch(/^Prerequisites check failed: VM shop-rg\/web2 is Stopped.*Start the VM/);
    expect(job.steps[0]).toMatchObject({ name: 'Prerequisites check', state: 'Failed' });
    expect(job.steps[0]?.error).toMatch(/Start the VM/);
    expect(job.steps.slice(1).every((s) => s.state === 'NotStarted')).toBe(true);
    const items = TableProtectedItemStore.fromConnectionString(stack.target.connectionString);
    expect(await items.get('shop-rg', 'web2')).toBeUndefined();
    const listed = (await api('GET', 'jobs')).body.jobs as Job[];
    expect(listed.map((j) => j.id)).toEqual([id, 'enable-shop-rg-web1']);
  });
});
