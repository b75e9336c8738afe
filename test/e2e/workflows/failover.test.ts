/**
 * Failover, change of recovery point and commit end to end: tidemark's compiled app in the local
 * host against two Azurites, a VM runner per region (so the failed-over VM in westus serves its
 * disks over NBD like the source VM in eastus), qemu-io writing known patterns to the source and
 * reading them back from the failed-over VM. Build first (`npm run build`; npm test does it).
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { agentConfigBlobName } from '../../../shared/agentConfig';
import { loadConfig } from '../../../shared/config';
import { deltaBlobName } from '../../../shared/delta';
import { fabricServices } from '../../../shared/fabric/services';
import type { Job } from '../../../shared/jobs/types';
import { type ProtectedItem, TableProtectedItemStore } from '../../../shared/protectedItems';
import { TableRecoveryPointCatalog } from '../../../shared/recoveryPoints/catalog';
import type { RecoveryPoint } from '../../../shared/recoveryPoints/types';
import { CONTAINERS } from '../../../shared/storageNames';
import { checkTools } from '../../helpers/nbdTools';
import { startWorkflowStack, type WorkflowStack } from '../../helpers/workflowStack';
import {
  COMMIT_STEP_NAMES,
  cutPoint,
  expectPatterns,
  expectStepsInOrder,
  FAILOVER_STEP_NAMES,
  type Pattern,
  replicasHold,
  westusFabric,
  westusNbdPort,
  writePatterns,
} from './failoverHelpers';

const tools = checkTools('qemu-io');
const MiB = 1024 * 1024;
const RG = 'shop-rg';
const VM = 'web1';
const TARGET_RG = 'shop-rg-asr';
const [, SHUTDOWN, SYNC] = FAILOVER_STEP_NAMES as [string, string, string];

// Three generations of writes: A and B each end in a recovery point, C only in the journal.
const A: Pattern[] = [
  ['os', 0x11, 0, MiB],
  ['data', 0x22, MiB, 512 * 1024],
];
const B: Pattern[] = [
  ['os', 0x33, 0, MiB],
  ['os', 0x35, 6 * MiB, 64 * 1024],
  ['data', 0x44, MiB, 512 * 1024],
];
const C: Pattern[] = [['data', 0x55, 3 * MiB, 64 * 1024]];
const NOT_B: Pattern[] = [['os', 0, 6 * MiB, 64 * 1024]];
const NOT_C: Pattern[] = [['data', 0, 3 * MiB, 64 * 1024]];

describe.skipIf(tools.skip)(
  `failover, change of point and commit through the local host${tools.note}`,
  () => {
    let stack: WorkflowStack;
    let items: TableProtectedItemStore;
    let catalog: TableRecoveryPointCatalog;
    let sourceIp: string;
    let p1: RecoveryPoint;
    let p2: RecoveryPoint;
    let afterC: string;

    const item = async (vm = VM): Promise<ProtectedItem> => (await items.get(RG, vm))!;
    const regions = (): { source: string; target: string } => ({
      source: stack.source.connectionString,
      target: stack.target.connectionString,
    });

    async function startJob(route: string, body?: unknown, vm = VM): Promise<string> {
      const started = await stack.api('POST', `vms/${RG}/${vm}/${route}`, body);
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      const job = started.body.job as Job;
      expect(job.state).toBe('InProgress');
      expect(started.headers.get('location')).toBe(`/api/jobs/${job.id}`);
      return job.id;
    }

    async function expect409(route: string, detail: RegExp, body: unknown = {}, vm = VM): Promise<void> {
      const got = await stack.api('POST', `vms/${RG}/${vm}/${route}`, body);
      expect(got.status, JSON.stringify(got.body)).toBe(409);
      expect(got.contentType).toContain('application/problem+json');
      expect(String(got.body.detail)).toMatch(detail);
    }

    async function targetVms(): Promise<string[]> {
      return (await westusFabric(stack.target.connectionString).virtualMachines.list(TARGET_RG))
        .map((v) => v.name)
        .sort();
    }

    beforeAll(async () => {
      // The recovery-point timer would cut points of its own; the test cuts them where it wants them.
      stack = await startWorkflowStack({ TIDEMARK_RECOVERY_POINT_SCHEDULE: '0 0 0 1 1 *' });
      items = TableProtectedItemStore.fromConnectionString(stack.target.connectionString);
      catalog = TableRecoveryPointCatalog.fromConnectionString(stack.target.connectionString);
      await stack.protectVm({
        resourceGroup: RG,
        vm: VM,
        disksMiB: [
          { name: 'os', sizeMiB: 8 },
          { name: 'data', sizeMiB: 4 },
        ],
      });
      const source = await stack.api('GET', `vms/${RG}/${VM}`);
      sourceIp = (source.body.nics as { privateIp: string }[])[0]!.privateIp;
      const port = (await stack.nbdOf(RG, VM)).port;

      await writePatterns(port, A);
      await replicasHold(stack.target.connectionString, RG, VM, A);
      p1 = await cutPoint(regions(), RG, VM);
      await writePatterns(port, B);
      await replicasHold(stack.target.connectionString, RG, VM, B);
      p2 = await cutPoint(regions(), RG, VM);
      await writePatterns(port, C);
      await replicasHold(stack.target.connectionString, RG, VM, C);
      afterC = new Date().toISOString();
    }, 180_000);

    afterAll(async () => {
      await stack?.stop();
    }, 120_000);

    it('refuses bad bodies (400), unprotected VMs (404) and calls without a key (401), starting nothing', async () => {
      const bad: [unknown, string[]][] = [
        [{ recoveryPoint: 'newest' }, ['recoveryPoint']],
        [{ recoveryPoint: { id: 'point-7' } }, ['recoveryPoint.id']],
        [{ recoveryPoint: { time: 'yesterday' } }, ['recoveryPoint.time']],
        [{ recoveryPoint: { id: 'rp-1-1', time: '2026-01-01T00:00:00Z' } }, ['recoveryPoint']],
        [{ shutdownSource: 'yes' }, ['shutdownSource']],
        [{ recoveryPoint: 7, extra: true }, ['(body)', 'recoveryPoint']],
        [[], ['(body)']],
        ['{nope', ['(body)']],
      ];
      for (const [body, paths] of bad) {
        const got = await stack.api('POST', `vms/${RG}/${VM}/failover`, body);
        expect(got.status, JSON.stringify(body)).toBe(400);
        expect(got.contentType).toContain('application/problem+json');
        const errors = (got.body.errors as { path: string }[]).map((e) => e.path);
        for (const path of paths) expect(errors, JSON.stringify(body)).toContain(path);
      }
      const commitBody = await stack.api('POST', `vms/${RG}/${VM}/commit-failover`, { force: true });
      expect(commitBody.status).toBe(400);

      const unknown = await stack.api('POST', `vms/${RG}/nosuchvm/failover`, {});
      expect(unknown.status).toBe(404);
      expect(unknown.body.detail).toMatch(/not protected/);
      const plain = await stack.api('PUT', `vms/${RG}/plain1`, {
        region: 'eastus',
        vnet: `${RG}-vnet`,
        subnet: 'default',
        size: 'Standard_B1s',
        powerState: 'Stopped',
        disks: [{ name: 'os', sizeGiB: 1 / 1024 }],
      });
      expect(plain.status, JSON.stringify(plain.body)).toBe(201);
      expect((await stack.api('POST', `vms/${RG}/plain1/failover`, {})).status).toBe(404);
      expect((await stack.api('POST', `vms/${RG}/plain1/commit-failover`)).status).toBe(404);

      const keyless = await stack.api('POST', `vms/${RG}/${VM}/failover`, {}, { key: null });
      expect(keyless.status).toBe(401);
      await expect409('commit-failover', /Can't commit the failover.*Protected/, undefined);

      const jobs = (await stack.api('GET', 'jobs')).body.jobs as Job[];
      expect(jobs.map((j) => j.kind)).toEqual(['EnableReplication']);
      expect((await item()).state).toBe('Protected');
    });

    it('fails over to latestProcessed: the VM runs in westus with the point’s data and the source IP', async () => {
      const id = await startJob('failover', { recoveryPoint: 'latestProcessed' });
      expect(id).toMatch(/^failover-shop-rg-web1-/);
      // While it runs, the item is claimed: neither a commit nor a second failover can start.
      await expect409('commit-failover', /Failover job running|FailoverInProgress/);
      await expect409('failover', /Failover job running|FailoverInProgress/);

      const job = await stack.waitForJob(id, { timeoutMs: 60_000 });
      expect(job.kind).toBe('Failover');
      expectStepsInOrder(job, FAILOVER_STEP_NAMES, [SYNC]);
      expect(job.steps.every((s) => s.warning === undefined)).toBe(true);
      expect(job.result).toEqual({
        targetVm: { region: 'westus', resourceGroup: TARGET_RG, name: VM },
        recoveryPoint: { id: p2.id, type: 'CrashConsistent', time: new Date(p2.time).toISOString() },
        privateIp: sourceIp,
      });

      const source = await stack.api('GET', `vms/${RG}/${VM}`);
      expect(source.body.powerState).toBe('Stopped');
      const target = await stack.api('GET', `vms/${TARGET_RG}/${VM}`);
      expect(target.body).toMatchObject({ region: 'westus', powerState: 'Running', size: 'Standard_B1s' });
      expect(
        (target.body.nics as { privateIp: string; name: string }[]).map((n) => [n.name, n.privateIp]),
      ).toEqual([[`${VM}-nic`, sourceIp]]);
      expect((target.body.disks as { name: string; lun: number }[]).map((d) => [d.lun, d.name])).toEqual([
        [0, 'os'],
        [1, 'data'],
      ]);
      const port = await westusNbdPort(stack.target.connectionString, TARGET_RG, VM);
      await expectPatterns(port, [...B, ...NOT_C]);

      const after = await item();
      expect(after).toMatchObject({
        state: 'FailedOver',
        applyEnabled: false,
        failover: {
          jobId: id,
          choice: 'latestProcessed',
          pointId: p2.id,
          vm: { region: 'westus', resourceGroup: TARGET_RG, name: VM },
        },
      });
      expect(after.activeJob).toBeUndefined();
      // The points stay until commit: the point can still be changed.
      expect((await catalog.list(RG, VM)).map((p) => p.id)).toEqual(expect.arrayContaining([p1.id, p2.id]));
      expect((await stack.api('GET', `vms/${RG}/${VM}`)).body.protectedItem).toMatchObject({
        state: 'FailedOver',
      });
    }, 90_000);

    it('changes the point by id and by time, rewriting the disks of the one failed-over VM', async () => {
      const byId = await stack.waitForJob(await startJob('failover', { recoveryPoint: { id: p1.id } }));
      expectStepsInOrder(byId, FAILOVER_STEP_NAMES, [SHUTDOWN, SYNC]);
      expect(byId.result).toMatchObject({ recoveryPoint: { id: p1.id }, privateIp: sourceIp });
      let port = await westusNbdPort(stack.target.connectionString, TARGET_RG, VM);
      await expectPatterns(port, [...A, ...NOT_B, ...NOT_C]);
      expect((await item()).failover).toMatchObject({ choice: `id:${p1.id}`, pointId: p1.id });

      // Any point in time: p2 plus the journal up to C.
      const byTime = await stack.waitForJob(await startJob('failover', { recoveryPoint: { time: afterC } }));
      expectStepsInOrder(byTime, FAILOVER_STEP_NAMES, [SHUTDOWN, SYNC]);
      const result = byTime.result as { recoveryPoint: { id: string }; replayedThrough: string };
      expect(result.recoveryPoint.id).toBe(p2.id);
      expect(result.replayedThrough > new Date(p2.time).toISOString()).toBe(true);
      expect(result.replayedThrough <= afterC).toBe(true);
      port = await westusNbdPort(stack.target.connectionString, TARGET_RG, VM);
      await expectPatterns(port, [...B, ...C]);

      expect(await targetVms()).toEqual([VM]);
      const nics = await westusFabric(stack.target.connectionString).networkInterfaces.list(TARGET_RG);
      expect(nics.map((n) => [n.name, n.vm, n.privateIp])).toEqual([[`${VM}-nic`, VM, sourceIp]]);
      expect((await item()).state).toBe('FailedOver');
    }, 120_000);

    it('commits: the points, snapshots, journal and agent config go, the VM stays; a second commit is 409', async () => {
      const before = (await catalog.list(RG, VM)).length;
      expect(before).toBeGreaterThanOrEqual(2);
      // The journal's segments, and a legacy per-delta blob as an installation from before segments has.
      const journalContainer = BlobServiceClient.fromConnectionString(
        stack.target.connectionString,
      ).getContainerClient(CONTAINERS.journal);
      await journalContainer
        .getBlockBlobClient(
          deltaBlobName({ resourceGroup: RG, vm: VM, generation: (await item()).generation, sequence: 1 }),
        )
        .uploadData(Buffer.from('legacy'));
      const journaled: string[] = [];
      for await (const b of journalContainer.listBlobsFlat({ prefix: `${RG}/${VM}/` }))
        journaled.push(b.name);
      expect(journaled.some((n) => n.endsWith('.journal'))).toBe(true);
      expect(journaled.some((n) => n.endsWith('.delta'))).toBe(true);
      const job = await stack.waitForJob(await startJob('commit-failover'));
      expect(job.kind).toBe('CommitFailover');
      expectStepsInOrder(job, COMMIT_STEP_NAMES);
      expect(job.steps.every((s) => s.warning === undefined)).toBe(true);
      expect(job.result).toEqual({ deletedPoints: before, deletedDisks: 0 });

      expect(await item()).toMatchObject({ state: 'FailoverCommitted', applyEnabled: false });
      expect((await item()).activeJob).toBeUndefined();
      expect(await catalog.list(RG, VM)).toEqual([]);
      const target = BlobServiceClient.fromConnectionString(stack.target.connectionString);
      const snapshots: string[] = [];
      for await (const b of target
        .getContainerClient(CONTAINERS.replicas)
        .listBlobsFlat({ prefix: `${RG}/${VM}/`, includeSnapshots: true })) {
        if (b.snapshot) snapshots.push(`${b.name}@${b.snapshot}`);
      }
      expect(snapshots).toEqual([]);
      const journal: string[] = [];
      for await (const b of target
        .getContainerClient(CONTAINERS.journal)
        .listBlobsFlat({ prefix: `${RG}/${VM}/` })) {
        journal.push(b.name);
      }
      expect(journal).toEqual([]);
      const config = BlobServiceClient.fromConnectionString(stack.source.connectionString)
        .getContainerClient(CONTAINERS.agentConfig)
        .getBlobClient(agentConfigBlobName(RG, VM));
      expect(await config.exists()).toBe(false);

      expect((await stack.api('GET', `vms/${TARGET_RG}/${VM}`)).body.powerState).toBe('Running');
      await expect409('commit-failover', /Can't commit the failover.*FailoverCommitted/);
      await expect409('failover', /Can't fail over.*FailoverCommitted/);
    }, 90_000);

    it('refuses a foreign VM at the target name and a missing app-consistent point, then fails over to latest', async () => {
      const vm = 'web2';
      await stack.protectVm({ resourceGroup: RG, vm, disksMiB: [{ name: 'os', sizeMiB: 4 }] });

      // A VM of the target name that no failover made: refused before the source is touched.
      const squatter = await stack.api('PUT', `vms/${TARGET_RG}/${vm}`, {
        region: 'westus',
        vnet: 'other-vnet',
        subnet: 'default',
        size: 'Standard_B1s',
        powerState: 'Stopped',
        disks: [{ name: 'os', sizeGiB: 1 / 1024 }],
      });
      expect(squatter.status, JSON.stringify(squatter.body)).toBe(201);
      const refused = await stack.waitForJob(await startJob('failover', {}, vm), { allowFailure: true });
      expect(refused.error).toMatch(
        /^Prerequisites check failed: VM shop-rg-asr\/web2 already exists in westus and was not made by a failover of shop-rg\/web2/,
      );
      expect(refused.steps.slice(1).every((s) => s.state === 'NotStarted')).toBe(true);
      expect((await item(vm)).state).toBe('Protected');
      expect((await stack.api('GET', `vms/${RG}/${vm}`)).body.powerState).toBe('Running');
      const settings = {
        TIDEMARK_SOURCE_STORAGE: regions().source,
        TIDEMARK_TARGET_STORAGE: regions().target,
      };
      const { vms } = fabricServices(loadConfig(settings));
      expect(await vms.deleteVm(TARGET_RG, vm, { deleteNics: true, deleteDisks: true })).toBe(true);

      const failed = await stack.waitForJob(
        await startJob('failover', { recoveryPoint: 'latestAppConsistent', shutdownSource: false }, vm),
        { allowFailure: true },
      );
      expect(failed.state).toBe('Failed');
      expect(failed.error).toMatch(
        /^Creating the target disks failed: VM shop-rg\/web2 has no app-consistent recovery point\. Fail over to "latestProcessed"/,
      );
      expect((await item(vm)).state).toBe('Protected');
      expect((await item(vm)).activeJob).toBeUndefined();
      expect((await stack.api('GET', `vms/${RG}/${vm}`)).body.powerState).toBe('Running');

      // Written just before the failover: only draining the cache at the shutdown brings it over.
      const D: Pattern[] = [['os', 0x66, 2 * MiB, 256 * 1024]];
      await writePatterns((await stack.nbdOf(RG, vm)).port, D);
      const job = await stack.waitForJob(await startJob('failover', undefined, vm));
      expectStepsInOrder(job, FAILOVER_STEP_NAMES);
      expect(
        job.steps.every((s) => s.warning === undefined),
        JSON.stringify(job.steps),
      ).toBe(true);
      const result = job.result as { recoveryPoint: { id: string }; note?: string };
      expect(result.note).toBeUndefined();
      expect((await item(vm)).failover).toMatchObject({ choice: 'latest', pointId: result.recoveryPoint.id });
      await expectPatterns(await westusNbdPort(stack.target.connectionString, TARGET_RG, vm), D);
      expect(await targetVms()).toEqual([VM, vm]);
    }, 150_000);
  },
);
