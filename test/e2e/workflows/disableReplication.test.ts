/**
 * Disable replication and the recovery-points list end to end: tidemark's compiled app in the local
 * host against two Azurites, VMs protected through the API with their mobility agents running, writes
 * over NBD with qemu-io. Disabling removes everything replication made (item, points, replicas,
 * journal, lock, cache, agent config) and leaves the source VM running with its disks as they were.
 * Build first (`npm run build`; npm test does it).
 */
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { agentConfigBlobName } from '../../../shared/agentConfig';
import { SystemClock } from '../../../shared/clock';
import { loadConfig } from '../../../shared/config';
import { deltaBlobName } from '../../../shared/delta';
import type { Job } from '../../../shared/jobs/types';
import { cutRecoveryPoint } from '../../../shared/recoveryPoints/cut';
import { type RecoveryPointStores, recoveryPointStores } from '../../../shared/recoveryPoints/stores';
import { CONTAINERS } from '../../../shared/storageNames';
import { checkTools, qemuIo } from '../../helpers/nbdTools';
import { waitFor } from '../../helpers/waitFor';
import { startWorkflowStack, type WorkflowStack } from '../../helpers/workflowStack';

const tools = checkTools('qemu-io');
const RG = 'dr-rg';
const VM = 'app1';
const DISKS = [
  { name: 'os', sizeMiB: 8 },
  { name: 'data', sizeMiB: 4 },
];
const STEPS = [
  'Prerequisites check',
  'Stopping replication',
  'Removing replicas and recovery points',
  'Removing the protected item',
];

interface PointView {
  id: string;
  time: string;
  cutAt: string;
  type: string;
  sequence: number;
  generation: number;
}

async function namesUnder(container: ContainerClient, prefix: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const b of container.listBlobsFlat({ prefix, includeSnapshots: true })) {
      out.push(b.snapshot ? `${b.name}@${b.snapshot}` : b.name);
    }
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
  return out;
}

describe.skipIf(tools.skip)(
  `disable replication and recovery points through the local host${tools.note}`,
  () => {
    let stack: WorkflowStack;
    let stores: RecoveryPointStores;
    let source: BlobServiceClient;
    let target: BlobServiceClient;
    let port: number;
    let generation: number;

    const container = (side: 'source' | 'target', name: string): ContainerClient =>
      (side === 'source' ? source : target).getContainerClient(name);

    async function sourceDisks(): Promise<Buffer[]> {
      return Promise.all(
        DISKS.map((d) =>
          container('source', CONTAINERS.disks).getBlobClient(`${RG}/${VM}/${d.name}`).downloadToBuffer(),
        ),
      );
    }

    /** Writes over NBD, waits until the watermark moves past it, and cuts a point there. */
    async function writeAndCut(byte: number): Promise<void> {
      const before = (await stores.items.get(RG, VM))!.watermark;
      const r = await qemuIo(port, byte % 2 ? 'os' : 'data', [
        `write -P ${byte} ${(byte % 4) * 256 * 1024} 64k`,
      ]);
      expect(r.code, r.stderr).toBe(0);
      await waitFor(async () => ((await stores.items.get(RG, VM))?.watermark ?? 0) > before, {
        timeoutMs: 20_000,
        intervalMs: 100,
        what: 'the watermark to move',
      });
      const cut = await cutRecoveryPoint({ ...stores, clock: new SystemClock() }, RG, VM, 'CrashConsistent', {
        leaseWaitMs: 20_000,
      });
      expect(['cut', 'unchanged']).toContain(cut.outcome);
    }

    beforeAll(async () => {
      stack = await startWorkflowStack();
      stores = recoveryPointStores(
        loadConfig({
          TIDEMARK_SOURCE_STORAGE: stack.source.connectionString,
          TIDEMARK_TARGET_STORAGE: stack.target.connectionString,
        }),
      );
      source = BlobServiceClient.fromConnectionString(stack.source.connectionString);
      target = BlobServiceClient.fromConnectionString(stack.target.connectionString);
      const enabled = await stack.protectVm({ resourceGroup: RG, vm: VM, disksMiB: DISKS });
      generation = (enabled.result as { generation: number }).generation;
      port = (await stack.nbdOf(RG, VM)).port;
    }, 150_000);

    afterAll(async () => {
      // The last test stops the source region; its VMs' agents try their cache a while before giving up.
      await stack?.stop();
    }, 120_000);

    it('shows the protected item with its direction and target in the VM detail', async () => {
      const vm = await stack.api('GET', `vms/${RG}/${VM}`);
      expect(vm.status).toBe(200);
      const item = vm.body.protectedItem as Record<string, unknown>;
      expect(item).toMatchObject({
        state: 'Protected',
        generation,
        direction: 'forward',
        target: {
          region: 'westus',
          resourceGroup: `${RG}-asr`,
          vnet: { resourceGroup: `${RG}-asr`, name: `${RG}-vnet-asr` },
        },
      });
      expect(item.activeJob).toBeUndefined();
      expect(item.failover).toBeUndefined();
      expect(item.testFailover).toBeUndefined();
    });

    it('lists recovery points newest first, a page at a time', async () => {
      for (const byte of [0x11, 0x12, 0x13, 0x14]) await writeAndCut(byte);
      const catalog = await stores.catalog.list(RG, VM);
      expect(catalog.length).toBeGreaterThanOrEqual(5);

      const all = await stack.api('GET', `vms/${RG}/${VM}/recovery-points`);
      expect(all.status).toBe(200);
      const points = all.body.recoveryPoints as PointView[];
      expect(points.map((p) => p.id)).toEqual(catalog.map((p) => p.id));
      expect(all.body.continuationToken).toBeNull();
      expect(all.body.nextLink).toBeNull();
      for (const [i, p] of points.entries()) {
        expect(Object.keys(p).sort()).toEqual(['cutAt', 'generation', 'id', 'sequence', 'time', 'type']);
        expect(p.id).toBe(`rp-${p.generation}-${p.sequence}`);
        expect(p.generation).toBe(generation);
        expect(p.type).toBe('CrashConsistent');
        expect(new Date(p.time).toISOString()).toBe(p.time);
        expect(new Date(p.cutAt).toISOString()).toBe(p.cutAt);
        expect(p.time).toBe(new Date(catalog[i]!.time).toISOString());
        if (i > 0) expect(p.sequence).toBeLessThan(points[i - 1]!.sequence);
      }

      // Pages of 2, following nextLink, give the same list.
      const paged: PointView[] = [];
      let route: string | null = `vms/${RG}/${VM}/recovery-points?top=2`;
      let pages = 0;
      while (route) {
        const page = await stack.api('GET', route);
        expect(page.status, JSON.stringify(page.body)).toBe(200);
        const got = page.body.recoveryPoints as PointView[];
        expect(got.length).toBeLessThanOrEqual(2);
        paged.push(...got);
        pages++;
        const next = page.body.nextLink as string | null;
        if (next) {
          expect(next).toBe(
            `/api/vms/${RG}/${VM}/recovery-points?top=2&continuationToken=${String(page.body.continuationToken)}`,
          );
        }
        route = next ? next.replace(/^\/api\//, '') : null;
      }
      expect(pages).toBe(Math.ceil(points.length / 2));
      expect(paged).toEqual(points);

      const first = await stack.api('GET', `vms/${RG}/${VM}/recovery-points?top=1`);
      expect((first.body.recoveryPoints as PointView[]).map((p) => p.id)).toEqual([points[0]!.id]);
    });

    it('refuses bad paging (400), a missing key (401) and a VM that is not protected (404)', async () => {
      for (const query of [
        'top=0',
        'top=1001',
        'top=abc',
        'top=',
        'top=1.5',
        'top=-1',
        'continuationToken=nope!',
        'continuationToken=eyJ4IjoxfQ',
      ]) {
        const bad = await stack.api('GET', `vms/${RG}/${VM}/recovery-points?${query}`);
        expect(bad.status, query).toBe(400);
        expect(bad.contentType).toContain('application/problem+json');
        const field = query.split('=')[0];
        expect(
          (bad.body.errors as { path: string }[]).map((e) => e.path),
          query,
        ).toEqual([field]);
      }
      const noKey = await stack.api('GET', `vms/${RG}/${VM}/recovery-points`, undefined, { key: null });
      expect(noKey.status).toBe(401);
      const unknown = await stack.api('GET', `vms/${RG}/nosuchvm/recovery-points`);
      expect(unknown.status).toBe(404);
      expect(unknown.contentType).toContain('application/problem+json');
      expect(unknown.body.detail).toBe(`VM ${RG}/nosuchvm is not protected.`);
    });

    it('refuses to disable while an enable job for the VM runs (409)', async () => {
      const put = await stack.api('PUT', `vms/${RG}/app2`, {
        region: 'eastus',
        vnet: `${RG}-vnet`,
        subnet: 'default',
        size: 'Standard_B1s',
        disks: [{ name: 'os', sizeGiB: 4 / 1024 }],
      });
      expect(put.status, JSON.stringify(put.body)).toBe(201);
      await stack.nbdOf(RG, 'app2');
      const started = await stack.api('POST', `vms/${RG}/app2/enable-replication`, {});
      expect(started.status).toBe(202);
      const enableId = (started.body.job as Job).id;
      // Once the item is registered (Enabling) and while the enable job still runs.
      const refused = await waitFor(
        async () => {
          const r = await stack.api('POST', `vms/${RG}/app2/disable-replication`);
          return r.status === 404 ? undefined : r;
        },
        { timeoutMs: 30_000, intervalMs: 50, what: 'the enable job to register the item' },
      );
      expect(refused.status, JSON.stringify(refused.body)).toBe(409);
      expect(refused.contentType).toContain('application/problem+json');
      expect(refused.body.detail).toBe(`Replication of VM ${RG}/app2 is being enabled (job ${enableId}).`);
      expect(refused.body.hint).toMatch(/Wait for it to end/);
      const enabled = await stack.waitForJob(enableId, { timeoutMs: 90_000 });
      expect(enabled.state).toBe('Succeeded');
    });

    it('refuses a body with anything in it (400)', async () => {
      for (const body of [{ force: true }, '[]', '{nope', '"x"']) {
        const bad = await stack.api('POST', `vms/${RG}/${VM}/disable-replication`, body);
        expect(bad.status, JSON.stringify(body)).toBe(400);
        expect(bad.contentType).toContain('application/problem+json');
      }
      expect((await stack.api('GET', `vms/${RG}/${VM}`)).body.protectedItem).toMatchObject({
        state: 'Protected',
      });
    });

    it('disables: every step in order, nothing of replication left, the source VM as it was', async () => {
      const disksBefore = await sourceDisks();
      const pointsBefore = await stores.catalog.list(RG, VM);
      const prefix = `${RG}/${VM}/`;
      expect(await namesUnder(container('target', CONTAINERS.replicas), prefix)).toHaveLength(
        DISKS.length * (pointsBefore.length + 1),
      );
      // The journal's segments, and a legacy per-delta blob as an installation from before segments has.
      const journal = container('target', CONTAINERS.journal);
      const generation = (await stores.items.get(RG, VM))!.generation;
      await journal
        .getBlockBlobClient(deltaBlobName({ resourceGroup: RG, vm: VM, generation, sequence: 1 }))
        .uploadData(Buffer.from('legacy'));
      const journaled = await namesUnder(journal, prefix);
      expect(journaled.some((n) => n.endsWith('.journal'))).toBe(true);
      expect(journaled.some((n) => n.endsWith('.delta'))).toBe(true);
      expect(await container('target', CONTAINERS.locks).getBlobClient(`${RG}/${VM}`).exists()).toBe(true);
      expect(await namesUnder(container('source', CONTAINERS.cache), prefix)).toContain(
        `${prefix}agent.json`,
      );
      const configBlob = container('source', CONTAINERS.agentConfig).getBlobClient(
        agentConfigBlobName(RG, VM),
      );
      expect(await configBlob.exists()).toBe(true);

      const started = await stack.api('POST', `vms/${RG}/${VM}/disable-replication`);
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      const job = started.body.job as Job;
      expect(job.id).toMatch(new RegExp(`^disable-${RG}-${VM}-[0-9a-z]+$`));
      expect(job).toMatchObject({
        kind: 'DisableReplication',
        state: 'InProgress',
        vm: { resourceGroup: RG, name: VM },
      });
      expect(started.headers.get('location')).toBe(`/api/jobs/${job.id}`);

      // While it runs, the item is Disabling and held by the job; a second start is refused.
      const during = (await stack.api('GET', `vms/${RG}/${VM}`)).body.protectedItem as Record<
        string,
        unknown
      > | null;
      if (during) {
        expect(during).toMatchObject({
          state: 'Disabling',
          activeJob: { id: job.id, kind: 'DisableReplication' },
        });
        const again = await stack.api('POST', `vms/${RG}/${VM}/disable-replication`, {});
        expect([409, 404]).toContain(again.status);
      }

      const done = await stack.waitForJob(job.id, { timeoutMs: 120_000 });
      expect(done.steps.map((s) => s.name)).toEqual(STEPS);
      let previousEnd = done.startedAt!;
      for (const step of done.steps) {
        expect(step.state, `${step.name}: ${step.error}`).toBe('Succeeded');
        expect(step.warning, step.name).toBeUndefined();
        expect(step.startedAt! >= previousEnd, step.name).toBe(true);
        expect(step.endedAt! >= step.startedAt!, step.name).toBe(true);
        previousEnd = step.endedAt!;
      }
      const removed = (done.result as { removed: Record<string, number> }).removed;
      expect(removed.recoveryPoints).toBe(pointsBefore.length);
      expect(removed.replicas).toBe(DISKS.length);
      expect(removed.journalBlobs).toBe(journaled.length);
      expect(removed.cacheBlobs).toBeGreaterThanOrEqual(1);

      // Nothing of replication is left.
      expect(await stores.items.get(RG, VM)).toBeUndefined();
      expect(await stores.catalog.list(RG, VM)).toEqual([]);
      for (const name of [CONTAINERS.replicas, CONTAINERS.journal, CONTAINERS.quarantine]) {
        expect(await namesUnder(container('target', name), prefix), name).toEqual([]);
      }
      expect(await container('target', CONTAINERS.locks).getBlobClient(`${RG}/${VM}`).exists()).toBe(false);
      expect(await namesUnder(container('source', CONTAINERS.cache), prefix)).toEqual([]);
      expect(await configBlob.exists()).toBe(false);

      // The source VM runs on, its disks as they were; the other VM is still protected.
      const vm = await stack.api('GET', `vms/${RG}/${VM}`);
      expect(vm.body).toMatchObject({ powerState: 'Running', protectedItem: null });
      const disksAfter = await sourceDisks();
      disksAfter.forEach((d, i) => expect(d.equals(disksBefore[i]!), DISKS[i]!.name).toBe(true));
      const read = await qemuIo(port, 'os', ['read -P 0x13 768k 64k']);
      expect(read.code, read.stderr).toBe(0);
      expect(read.stdout).not.toMatch(/Pattern verification failed/);
      expect((await stores.items.get(RG, 'app2'))?.state).toBe('Protected');

      // Writes now are no longer shipped.
      expect((await qemuIo(port, 'data', ['write -P 0x21 0 64k'])).code).toBe(0);
      await new Promise((r) => setTimeout(r, 2500));
      expect(await namesUnder(container('source', CONTAINERS.cache), prefix)).toEqual([]);

      const recoveryPoints = await stack.api('GET', `vms/${RG}/${VM}/recovery-points`);
      expect(recoveryPoints.status).toBe(404);
      const second = await stack.api('POST', `vms/${RG}/${VM}/disable-replication`, {});
      expect(second.status).toBe(404);
      expect(second.body.detail).toBe(`VM ${RG}/${VM} is not protected.`);
    }, 150_000);

    it('enables again afterwards, with the next generation', async () => {
      const started = await stack.api('POST', `vms/${RG}/${VM}/enable-replication`, {});
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      // The agent keeps its sequence numbers per generation: the same generation again would go on
      // numbering where the disabled one stopped, and nothing would ever be applied.
      const registered = await waitFor(() => stores.items.get(RG, VM), {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: 'the item to be registered again',
      });
      expect(registered.generation).toBe(generation + 1);
      const job = await stack.waitForJob((started.body.job as Job).id, { timeoutMs: 120_000 });
      expect(job.result).toMatchObject({ generation: generation + 1 });
      const points = (await stack.api('GET', `vms/${RG}/${VM}/recovery-points`)).body
        .recoveryPoints as PointView[];
      expect(points.length).toBeGreaterThan(0);
      expect(points.every((p) => p.generation === generation + 1)).toBe(true);
      const vm = await stack.api('GET', `vms/${RG}/${VM}`);
      expect(vm.body.protectedItem).toMatchObject({ state: 'Protected', generation: generation + 1 });
    }, 150_000);

    it('disables with the source region down, warning and going on', async () => {
      const prefix = `${RG}/app2/`;
      expect((await stores.items.get(RG, 'app2'))?.state).toBe('Protected');
      await stack.source.stop();
      const started = await stack.api('POST', `vms/${RG}/app2/disable-replication`, {});
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      const job = await stack.waitForJob((started.body.job as Job).id, { timeoutMs: 120_000 });
      expect(job.steps.map((s) => [s.name, s.state])).toEqual(STEPS.map((name) => [name, 'Succeeded']));
      const warnings = Object.fromEntries(job.steps.map((s) => [s.name, s.warning]));
      expect(warnings['Stopping replication']).toMatch(
        new RegExp(
          `^The source region of VM ${RG}/app2 did not answer \\(.+\\), so its agent config is still there .* delete the blob agent-config/${RG}/app2\\.json of its storage account\\.$`,
        ),
      );
      expect(warnings['Removing replicas and recovery points']).toMatch(
        new RegExp(
          `did not answer .*so its deltas and agent status stay in the cache; once the region is back, delete the blobs under cache/${RG}/app2/ of its storage account\\.$`,
        ),
      );
      expect(job.result).toMatchObject({ removed: { replicas: 1, cacheBlobs: 0 } });
      expect(await stores.items.get(RG, 'app2')).toBeUndefined();
      expect(await stores.catalog.list(RG, 'app2')).toEqual([]);
      expect(await namesUnder(container('target', CONTAINERS.replicas), prefix)).toEqual([]);
      expect(await namesUnder(container('target', CONTAINERS.journal), prefix)).toEqual([]);
    }, 150_000);
  },
);
