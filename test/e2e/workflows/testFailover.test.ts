/**
 * Test failover and its cleanup end to end: tidemark's compiled app in the local host against two
 * Azurites, a VM runner per region (so the test VM in westus serves its disks over NBD like the source
 * VM in eastus), qemu-io writing known patterns to the source and reading them back from the test VM.
 * Replication goes on meanwhile; cleanup removes exactly what the test failover made. Build first
 * (`npm run build`; npm test does it).
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TableAgentEndpointStore } from '../../../shared/fabric/agentEndpoints';
import { TableFabricStore } from '../../../shared/fabric/tableFabricStore';
import type { Job } from '../../../shared/jobs/types';
import { type ProtectedItem, TableProtectedItemStore } from '../../../shared/protectedItems';
import { TableRecoveryPointCatalog } from '../../../shared/recoveryPoints/catalog';
import { CONTAINERS } from '../../../shared/storageNames';
import type { StoredTestFailover } from '../../../shared/workflows/testFailoverState';
import { checkTools, qemuIo } from '../../helpers/nbdTools';
import { waitFor } from '../../helpers/waitFor';
import { startWorkflowStack, type WorkflowStack } from '../../helpers/workflowStack';

const tools = checkTools('qemu-io');
const MiB = 1024 * 1024;
const RG = 'shop-rg';
const VM = 'web1';
const TARGET_RG = 'shop-rg-asr';
const TEST_VM = 'web1-test';
const TEST_VNET = 'shop-vnet-asr-test';
const STEPS = [
  'Prerequisites check',
  'Synchronizing latest data',
  'Creating the test network',
  'Creating the test disks',
  'Creating the network interface',
  'Starting the test virtual machine',
];
const CLEANUP_STEPS = [
  'Prerequisites check',
  'Deleting the test virtual machine',
  'Deleting the test network',
];

/** What a test VM's disks must hold: [disk, pattern byte, offset, length]. */
type Pattern = [disk: 'os' | 'data', byte: number, offset: number, length: number];

describe.skipIf(tools.skip)(`test failover and cleanup through the local host${tools.note}`, () => {
  let stack: WorkflowStack;
  let items: TableProtectedItemStore;
  let westus: TableFabricStore;
  let target: BlobServiceClient;
  let sourcePort: number;
  let sourceIp: string;

  const item = async (): Promise<ProtectedItem> => (await items.get(RG, VM))!;

  async function write(port: number, disk: string, commands: string[]): Promise<void> {
    const r = await qemuIo(port, disk, commands);
    expect(r.code, r.stderr + r.stdout).toBe(0);
  }

  /** qemu-io `read -P` of every pattern on a VM's NBD export; fails with what it printed otherwise. */
  async function expectPatterns(port: number, patterns: Pattern[]): Promise<void> {
    for (const [disk, byte, offset, length] of patterns) {
      const r = await qemuIo(port, disk, [`read -P ${byte} ${offset} ${length}`]);
      const said = r.stdout + r.stderr;
      expect(r.code, said).toBe(0);
      expect(said, `${disk} @${offset}`).not.toMatch(/Pattern verification failed|error/i);
      expect(said).toMatch(/read \d+\/\d+ bytes/);
    }
  }

  /** Waits until the replica of `disk` holds `byte` at `offset` (the write was shipped and applied). */
  async function replicaHolds(disk: string, byte: number, offset: number, length: number): Promise<void> {
    const blob = target.getContainerClient(CONTAINERS.replicas).getBlobClient(`${RG}/${VM}/${disk}`);
    await waitFor(
      async () => {
        const data = await blob.downloadToBuffer(offset, length);
        return data.every((b) => b === byte);
      },
      { timeoutMs: 20_000, intervalMs: 200, what: `replica ${disk} to hold ${byte} at ${offset}` },
    );
  }

  async function startJob(route: string, body?: unknown): Promise<string> {
    const started = await stack.api('POST', `vms/${RG}/${VM}/${route}`, body);
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const id = (started.body.job as Job).id;
    expect(started.headers.get('location')).toBe(`/api/jobs/${id}`);
    return id;
  }

  function expectStepsInOrder(job: Job, names: string[], skipped: string[] = []): void {
    expect(job.steps.map((s) => s.name)).toEqual(names);
    let previousEnd = job.startedAt!;
    for (const step of job.steps) {
      if (skipped.includes(step.name)) {
        expect(step.state, step.name).toBe('Skipped');
        continue;
      }
      expect(step.state, `${step.name}: ${step.error}`).toBe('Succeeded');
      expect(step.startedAt! >= previousEnd, step.name).toBe(true);
      expect(step.endedAt! >= step.startedAt!, step.name).toBe(true);
      previousEnd = step.endedAt!;
    }
  }

  async function testDiskBlobs(): Promise<string[]> {
    const names: string[] = [];
    for await (const b of target
      .getContainerClient(CONTAINERS.disks)
      .listBlobsFlat({ prefix: `${TARGET_RG}/${TEST_VM}/`, includeSnapshots: true })) {
      names.push(b.name);
    }
    return names;
  }

  beforeAll(async () => {
    stack = await startWorkflowStack();
    items = TableProtectedItemStore.fromConnectionString(stack.target.connectionString);
    westus = TableFabricStore.fromConnectionString('westus', stack.target.connectionString);
    target = BlobServiceClient.fromConnectionString(stack.target.connectionString);
    await stack.protectVm({
      resourceGroup: RG,
      vm: VM,
      vnet: 'shop-vnet',
      subnet: 'front',
      disksMiB: [
        { name: 'os', sizeMiB: 8 },
        { name: 'data', sizeMiB: 4 },
      ],
    });
    const nbd = await stack.nbdOf(RG, VM);
    expect(nbd.exports).toEqual(['os', 'data']);
    sourcePort = nbd.port;
    sourceIp = (await item()).sourceVm!.privateIp;
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('refuses bad bodies (400, each bad field), no key (401) and an unprotected VM (404)', async () => {
    const route = `vms/${RG}/${VM}/test-failover`;
    const bad = await stack.api('POST', route, { recoveryPoint: 'yesterday', network: 'no/slash', extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.contentType).toContain('application/problem+json');
    expect((bad.body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      '(body)',
      'network',
      'recoveryPoint',
    ]);
    const id = await stack.api('POST', route, { recoveryPoint: { id: 'point-7' } });
    expect(id.status).toBe(400);
    expect(JSON.stringify(id.body.errors)).toMatch(/rp-1-42/);
    const time = await stack.api('POST', route, { recoveryPoint: { time: 'last tuesday' } });
    expect(time.status).toBe(400);
    expect(JSON.stringify(time.body.errors)).toMatch(/ISO-8601/);
    expect((await stack.api('POST', route, '{nope')).status).toBe(400);
    expect((await stack.api('POST', route, { network: 7 })).status).toBe(400);
    const cleanupBody = await stack.api('POST', `vms/${RG}/${VM}/test-failover-cleanup`, { force: true });
    expect(cleanupBody.status).toBe(400);

    expect((await stack.api('POST', route, {}, { key: null })).status).toBe(401);
    expect((await stack.api('POST', `vms/${RG}/${VM}/test-failover-cleanup`, {}, { key: null })).status).toBe(
      401,
    );

    const unknown = await stack.api('POST', `vms/${RG}/nosuchvm/test-failover`, {});
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({
      code: 'NotFound',
      hint: expect.stringMatching(/Enable replication/),
    });
    expect((await stack.api('POST', `vms/${RG}/nosuchvm/test-failover-cleanup`)).status).toBe(404);

    // Nothing to clean up yet: the item is Protected.
    const early = await stack.api('POST', `vms/${RG}/${VM}/test-failover-cleanup`);
    expect(early.status).toBe(409);
    expect(early.body.detail).toMatch(/Can't clean up the test failover .* Protected/);

    const jobs = (await stack.api('GET', 'jobs')).body.jobs as Job[];
    expect(jobs.map((j) => j.kind)).toEqual(['EnableReplication']);
    expect((await item()).state).toBe('Protected');
  });

  let pointId: string;
  let recordedWatermark: number;
  const atPoint: Pattern[] = [
    ['os', 0x11, 0, MiB],
    ['os', 0x12, 6 * MiB, 512 * 1024],
    ['data', 0x21, MiB, 256 * 1024],
    ['data', 0, 0, MiB],
  ];

  it('starts the test VM in an isolated network from the latest data, while replication goes on', async () => {
    await write(sourcePort, 'os', ['write -P 0x11 0 1M', 'write -P 0x12 6M 512k']);
    await write(sourcePort, 'data', ['write -P 0x21 1M 256k']);
    await replicaHolds('data', 0x21, MiB, 256 * 1024);
    await replicaHolds('os', 0x12, 6 * MiB, 512 * 1024);

    const id = await startJob('test-failover', { recoveryPoint: 'latest' });
    expect(id).toMatch(/^testfailover-shop-rg-web1-/);
    const job = await stack.waitForJob(id, { timeoutMs: 90_000 });
    expect(job.kind).toBe('TestFailover');
    expectStepsInOrder(job, STEPS);
    expect(job.steps.every((s) => !s.warning)).toBe(true);
    const result = job.result as {
      testVm: unknown;
      network: unknown;
      recoveryPoint: { id: string; type: string; time: string };
    };
    expect(result).toMatchObject({
      testVm: { region: 'westus', resourceGroup: TARGET_RG, name: TEST_VM },
      network: { resourceGroup: TARGET_RG, name: TEST_VNET },
      recoveryPoint: { id: expect.stringMatching(/^rp-1-\d+$/), type: 'CrashConsistent' },
    });
    pointId = result.recoveryPoint.id;

    // The item: TestFailedOver, with the record of what was made; the claim released.
    const after = await item();
    expect(after.state).toBe('TestFailedOver');
    expect(after.activeJob).toBeUndefined();
    expect(after.applyEnabled).toBe(true);
    const record = after.testFailover as StoredTestFailover;
    expect(record).toMatchObject({
      jobId: id,
      choice: 'latest',
      pointId,
      vm: { region: 'westus', resourceGroup: TARGET_RG, name: TEST_VM },
      nic: { resourceGroup: TARGET_RG, name: 'web1-test-nic' },
      vnet: { resourceGroup: TARGET_RG, name: TEST_VNET },
      createdVnet: true,
      diskBlobs: [`${TARGET_RG}/${TEST_VM}/os`, `${TARGET_RG}/${TEST_VM}/data`],
      previousState: 'Protected',
    });
    expect(new Date(record.pointTime).toISOString()).toBe(result.recoveryPoint.time);
    recordedWatermark = after.watermark;

    // The test VM: Running in westus, the source's size and IP, no availability set, in the test VNet.
    const vm = await stack.api('GET', `vms/${TARGET_RG}/${TEST_VM}`);
    expect(vm.status).toBe(200);
    expect(vm.body).toMatchObject({
      region: 'westus',
      powerState: 'Running',
      size: 'Standard_B1s',
      availabilitySet: null,
      nics: [{ name: 'web1-test-nic', vnet: TEST_VNET, subnet: 'front', privateIp: sourceIp }],
      protectedItem: null,
    });
    expect((vm.body.disks as { name: string; lun: number }[]).map((d) => [d.lun, d.name])).toEqual([
      [0, 'os'],
      [1, 'data'],
    ]);
    // The test VNet copies the target VNet and is mapped to nothing.
    const [testVnet, targetVnet] = await Promise.all([
      westus.virtualNetworks.get(TARGET_RG, TEST_VNET),
      westus.virtualNetworks.get(TARGET_RG, 'shop-vnet-asr'),
    ]);
    expect(testVnet?.addressSpace).toEqual(targetVnet?.addressSpace);
    expect(testVnet?.subnets.map((s) => [s.name, s.addressPrefix])).toEqual(
      targetVnet?.subnets.map((s) => [s.name, s.addressPrefix]),
    );
    const mappings = await westus.networkMappings.list();
    expect(mappings.map((m) => m.sourceVnet.name)).toEqual(['shop-vnet-asr']);

    // Its disks are the point's snapshots, byte for byte, and read so over NBD.
    const point = await TableRecoveryPointCatalog.fromConnectionString(stack.target.connectionString).get(
      RG,
      VM,
      pointId,
    );
    for (const disk of point!.disks) {
      const [snap, copy] = await Promise.all([
        target
          .getContainerClient(CONTAINERS.replicas)
          .getBlobClient(`${RG}/${VM}/${disk.name}`)
          .withSnapshot(disk.snapshot)
          .downloadToBuffer(),
        target
          .getContainerClient(CONTAINERS.disks)
          .getBlobClient(`${TARGET_RG}/${TEST_VM}/${disk.name}`)
          .downloadToBuffer(),
      ]);
      expect(copy.equals(snap), disk.name).toBe(true);
    }
    const testNbd = await stack.nbdOf(TARGET_RG, TEST_VM);
    expect(testNbd.exports).toEqual(['os', 'data']);
    await expectPatterns(testNbd.port, [...atPoint, ['os', 0, 2 * MiB, 64 * 1024]]);

    // Replication goes on: a new write reaches the replica and the watermark rises, not the test VM.
    await write(sourcePort, 'os', ['write -P 0x33 2M 64k']);
    await replicaHolds('os', 0x33, 2 * MiB, 64 * 1024);
    await waitFor(async () => (await item()).watermark > recordedWatermark, {
      timeoutMs: 10_000,
      intervalMs: 200,
      what: 'the watermark to rise',
    });
    await expectPatterns(testNbd.port, [['os', 0, 2 * MiB, 64 * 1024]]);
    expect((await item()).state).toBe('TestFailedOver');
  }, 150_000);

  it('refuses a second test failover and a failover while the test VM exists (409, clean up first)', async () => {
    const again = await stack.api('POST', `vms/${RG}/${VM}/test-failover`, {});
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/Can't run a test failover .* TestFailedOver/);
    expect(again.body.hint).toBe('Clean up the test failover first.');
    const failover = await stack.api('POST', `vms/${RG}/${VM}/failover`, {});
    expect(failover.status).toBe(409);
    expect(failover.body.detail).toMatch(/TestFailedOver/);
    expect(failover.body.hint).toBe('Clean up the test failover first.');
  });

  it('cleans up exactly what the test failover made, and the item is Protected again', async () => {
    const id = await startJob('test-failover-cleanup');
    expect(id).toMatch(/^testcleanup-shop-rg-web1-/);
    const job = await stack.waitForJob(id, { timeoutMs: 60_000 });
    expect(job.kind).toBe('TestFailoverCleanup');
    expectStepsInOrder(job, CLEANUP_STEPS);
    expect(
      job.steps.every((s) => !s.warning),
      JSON.stringify(job.steps),
    ).toBe(true);
    expect(job.result).toEqual({
      removed: {
        vm: { region: 'westus', resourceGroup: TARGET_RG, name: TEST_VM },
        disks: [`${TARGET_RG}/${TEST_VM}/os`, `${TARGET_RG}/${TEST_VM}/data`],
        nic: { resourceGroup: TARGET_RG, name: 'web1-test-nic' },
        vnet: { resourceGroup: TARGET_RG, name: TEST_VNET },
      },
      state: 'Protected',
    });

    expect((await stack.api('GET', `vms/${TARGET_RG}/${TEST_VM}`)).status).toBe(404);
    expect(await westus.virtualMachines.get(TARGET_RG, TEST_VM)).toBeUndefined();
    expect(await westus.networkInterfaces.get(TARGET_RG, 'web1-test-nic')).toBeUndefined();
    expect(await westus.virtualNetworks.get(TARGET_RG, TEST_VNET)).toBeUndefined();
    const running = stack.runners.runners.flatMap((r) => r.running().map((v) => v.vm));
    expect(running).toEqual([VM]);
    const endpoints = TableAgentEndpointStore.fromConnectionString(stack.target.connectionString);
    expect(await endpoints.get(TARGET_RG, TEST_VM)).toBeUndefined();
    expect(await testDiskBlobs()).toEqual([]);

    const after = await item();
    expect(after.state).toBe('Protected');
    expect(after.testFailover).toBeUndefined();
    expect(after.activeJob).toBeUndefined();
    // What failover needs is untouched: the target VNet, its mapping, the replicas and the point.
    expect(await westus.virtualNetworks.get(TARGET_RG, 'shop-vnet-asr')).toBeDefined();
    expect((await westus.networkMappings.list()).length).toBe(1);
    const catalog = TableRecoveryPointCatalog.fromConnectionString(stack.target.connectionString);
    expect(await catalog.get(RG, VM, pointId)).toBeDefined();

    // Cleaning up again: nothing to clean up.
    const again = await stack.api('POST', `vms/${RG}/${VM}/test-failover-cleanup`);
    expect(again.status).toBe(409);
  }, 90_000);

  it('fails a test failover into the VNet failover uses, leaving the item Protected', async () => {
    const id = await startJob('test-failover', { network: 'shop-vnet-asr' });
    const job = await stack.waitForJob(id, { allowFailure: true });
    expect(job.state).toBe('Failed');
    expect(job.error).toMatch(
      /^Creating the test network failed: VNet shop-rg-asr\/shop-vnet-asr is the network this VM fails over into.*not be isolated.*leave network out/,
    );
    expect(job.steps.map((s) => s.state)).toEqual([
      'Succeeded',
      'Skipped',
      'Failed',
      'NotStarted',
      'NotStarted',
      'NotStarted',
    ]);
    const after = await item();
    expect(after.state).toBe('Protected');
    expect(after.activeJob).toBeUndefined();
    expect(await westus.virtualNetworks.get(TARGET_RG, TEST_VNET)).toBeUndefined();

    const missing = await stack.waitForJob(await startJob('test-failover', { network: 'no-such-vnet' }), {
      allowFailure: true,
    });
    expect(missing.error).toMatch(/VNet shop-rg-asr\/no-such-vnet does not exist in westus/);
    expect((await item()).state).toBe('Protected');
  }, 60_000);

  it('removes what it made when a later step fails (a full subnet), leaving the user’s VNet', async () => {
    const taken = ['10.9.0.4', '10.9.0.5', '10.9.0.6'].map((ip, i) => ({
      nic: { resourceGroup: TARGET_RG, name: `other${i}-nic` },
      privateIp: ip,
    }));
    await westus.virtualNetworks.put({
      resourceGroup: TARGET_RG,
      name: 'shop-full',
      region: 'westus',
      addressSpace: ['10.9.0.0/24'],
      subnets: [{ name: 'front', addressPrefix: '10.9.0.0/29', ipConfigurations: taken }],
    });
    const job = await stack.waitForJob(await startJob('test-failover', { network: 'shop-full' }), {
      timeoutMs: 60_000,
      allowFailure: true,
    });
    expect(job.state).toBe('Failed');
    expect(job.error).toMatch(
      /^Creating the network interface failed: Subnet shop-full\/front .* has no free address/,
    );
    expect(job.steps.map((s) => s.state)).toEqual([
      'Succeeded',
      'Skipped',
      'Succeeded',
      'Succeeded',
      'Failed',
      'NotStarted',
    ]);
    expect(job.steps[4]!.warning).toBeUndefined();
    // The disks it made are gone again; the user's VNet is as it was.
    expect(await testDiskBlobs()).toEqual([]);
    const full = await westus.virtualNetworks.get(TARGET_RG, 'shop-full');
    expect(full?.subnets[0]?.ipConfigurations).toEqual(taken);
    expect(await westus.networkInterfaces.get(TARGET_RG, 'web1-test-nic')).toBeUndefined();
    const after = await item();
    expect(after.state).toBe('Protected');
    expect(after.activeJob).toBeUndefined();
    expect(after.testFailover).toBeUndefined();
  }, 90_000);

  it('tests into a network the user made (any point in time), and cleanup keeps that network', async () => {
    // A VNet the user made in the target group, holding another VM (which takes the first address).
    const put = await stack.api('PUT', `vms/${TARGET_RG}/lab1`, {
      region: 'westus',
      vnet: 'shop-lab',
      subnet: 'front',
      size: 'Standard_B1s',
      powerState: 'Stopped',
      disks: [{ name: 'os', sizeGiB: 1 / 1024 }],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const labIp = (put.body.nics as { privateIp: string }[])[0]!.privateIp;
    expect(labIp).toBe(sourceIp);

    // Any point in time: the newest point before now plus the journal, so the write made after the
    // first test failover (0x33 at 2M) is in it.
    const time = new Date().toISOString();
    const id = await startJob('test-failover', { recoveryPoint: { time }, network: 'shop-lab' });
    const job = await stack.waitForJob(id, { timeoutMs: 90_000 });
    expectStepsInOrder(job, STEPS, ['Synchronizing latest data']);
    expect(job.result).toMatchObject({ network: { resourceGroup: TARGET_RG, name: 'shop-lab' } });
    const record = (await item()).testFailover as StoredTestFailover;
    expect(record).toMatchObject({ choice: `time:${time}`, createdVnet: false, vnet: { name: 'shop-lab' } });
    expect(record.pointTime).toBeLessThanOrEqual(Date.parse(time));

    // The source IP is taken there: the test NIC gets the last free address.
    const nic = await westus.networkInterfaces.get(TARGET_RG, 'web1-test-nic');
    expect(nic).toMatchObject({
      vm: TEST_VM,
      subnet: { vnet: 'shop-lab', subnet: 'front' },
      privateIp: '10.0.0.254',
    });
    const testNbd = await stack.nbdOf(TARGET_RG, TEST_VM);
    await expectPatterns(testNbd.port, [...atPoint, ['os', 0x33, 2 * MiB, 64 * 1024]]);

    const cleanup = await stack.waitForJob(await startJob('test-failover-cleanup'), { timeoutMs: 60_000 });
    expectStepsInOrder(cleanup, CLEANUP_STEPS);
    expect(cleanup.result).toMatchObject({
      removed: { vnet: null, nic: { name: 'web1-test-nic' } },
      state: 'Protected',
    });

    // The user's VNet stays with the user's NIC in it; the test NIC's address is given back.
    const lab = await westus.virtualNetworks.get(TARGET_RG, 'shop-lab');
    expect(lab).toBeDefined();
    const configs = lab!.subnets.find((s) => s.name === 'front')!.ipConfigurations ?? [];
    expect(configs.map((c) => [c.nic.name, c.privateIp])).toEqual([['lab1-nic', labIp]]);
    expect(await westus.virtualMachines.get(TARGET_RG, 'lab1')).toBeDefined();
    expect(await westus.virtualMachines.get(TARGET_RG, TEST_VM)).toBeUndefined();
    expect(await testDiskBlobs()).toEqual([]);
    expect((await item()).state).toBe('Protected');
  }, 150_000);
  it('keeps ResyncRequired through a test failover and its cleanup; latest falls back, saying why', async () => {
    await waitFor(
      async () => {
        const now = await item();
        return items
          .update(now, { state: 'ResyncRequired', resyncReason: 'a bad delta (test)', applyEnabled: false })
          .then(() => true)
          .catch(() => false);
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'the item to be marked ResyncRequired' },
    );
    const job = await stack.waitForJob(await startJob('test-failover', { recoveryPoint: 'latest' }), {
      timeoutMs: 90_000,
    });
    expectStepsInOrder(job, STEPS);
    expect(job.steps[1]!.warning).toMatch(/No new recovery point could be cut \(replication .* not running/);
    const during = await item();
    expect(during.state).toBe('TestFailedOver');
    expect((during.testFailover as StoredTestFailover).previousState).toBe('ResyncRequired');

    const cleanup = await stack.waitForJob(await startJob('test-failover-cleanup'), { timeoutMs: 60_000 });
    expect(cleanup.result).toMatchObject({ state: 'ResyncRequired' });
    const after = await item();
    expect(after).toMatchObject({ state: 'ResyncRequired', resyncReason: 'a bad delta (test)' });
    expect(after.testFailover).toBeUndefined();
    expect(await westus.virtualMachines.get(TARGET_RG, TEST_VM)).toBeUndefined();
    expect(await testDiskBlobs()).toEqual([]);
  }, 150_000);
});
