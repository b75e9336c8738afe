/**
 * A VM's whole disaster-recovery life in ARM mode (TIDEMARK_FABRIC=arm, as the Bicep deploys it):
 * tidemark's compiled app in the local host, signed in through a managed identity endpoint, against
 * the fake Resource Manager whose managed disks keep their bytes in the regions' Azurites. The VMs are
 * ARM VMs on managed disks; a mobility agent stands in for the one inside each VM (armVmAgent.ts), and
 * qemu-io writes through it as the guest.
 *
 * enable (initial copy through a snapshot) → writes → points → test failover (disks imported into
 * managed disks) → cleanup (disks, VM, NIC gone) → failover → change of point (new disks) → commit
 * (the earlier disks deleted, nobody else's) → reprotect (the failed-over VM's disks read through a
 * snapshot; only what differs travels) → writes in westus → failback onto the original VM → commit
 * → reprotect forward again → disable.
 * Every failed-over disk is compared byte for byte with what was written up to its point.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ArmFabricStore } from '../../../shared/fabric/arm/armFabricStore';
import { MANAGED_DISK_CONTAINER } from '../../../shared/fabric/arm/virtualMachines';
import type { Job } from '../../../shared/jobs/types';
import { TableProtectedItemStore } from '../../../shared/protectedItems';
import { CONTAINERS } from '../../../shared/storageNames';
import { diskPattern } from '../../helpers/armDisks';
import { armModeSettings, seedSourceVm, useRegionStorage } from '../../helpers/armEnvironment';
import { startArmVmAgent, type ArmVmAgent } from '../../helpers/armVmAgent';
import { FakeArm, fakeArmStore } from '../../helpers/fakeArm';
import { checkTools, qemuIo } from '../../helpers/nbdTools';
import { startTidemarkStack, type TidemarkStack } from '../../helpers/tidemarkHost';
import { waitFor } from '../../helpers/waitFor';
import { cutPoint } from './failoverHelpers';

const tools = checkTools('qemu-io');
const MiB = 1024 * 1024;
const KiB = 1024;
const RG = 'shop-rg';
const TARGET_RG = 'shop-rg-asr';
const VM = 'web1';
const SIZES = { os: 8 * MiB, data: 4 * MiB } as const;
type Disk = keyof typeof SIZES;
type Model = Record<Disk, Buffer>;
const DISK_NAMES: Record<Disk, string> = { os: `${VM}-os`, data: `${VM}-data` };

const copy = (m: Model): Model => ({ os: Buffer.from(m.os), data: Buffer.from(m.data) });

describe.skipIf(tools.skip)(`a VM's whole DR life on the ARM fabric${tools.note}`, () => {
  let fake: FakeArm;
  let stack: TidemarkStack;
  let east: ArmFabricStore;
  let west: ArmFabricStore;
  let items: TableProtectedItemStore;
  const agents: ArmVmAgent[] = [];

  beforeAll(async () => {
    fake = await FakeArm.start();
    fake.requireToken = true;
    stack = await startTidemarkStack({
      ...armModeSettings(fake),
      TIDEMARK_AGENT_HEARTBEAT_MS: '1000',
      // The test cuts the points it wants.
      TIDEMARK_RECOVERY_POINT_SCHEDULE: '0 0 0 1 1 *',
    });
    await useRegionStorage(fake, {
      eastus: stack.source.connectionString,
      westus: stack.target.connectionString,
    });
    east = fakeArmStore(fake, 'eastus').store;
    west = fakeArmStore(fake, 'westus').store;
    items = TableProtectedItemStore.fromConnectionString(stack.target.connectionString);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
    await stack?.stop();
    await fake?.close();
  });

  async function api(
    method: string,
    route: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${stack.host.url}/api/${route}`, {
      method,
      headers: {
        'x-functions-key': stack.host.keys.functionKey,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  async function run(route: string, body: unknown = {}): Promise<Job> {
    const started = await api('POST', route, body);
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const id = (started.body.job as Job).id;
    const job = await waitFor(
      async () => {
        const j = (await api('GET', `jobs/${encodeURIComponent(id)}`)).body as unknown as Job;
        return j.state !== 'InProgress' ? j : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: `job ${id} to end` },
    );
    expect(job.state, `${job.error}\n${JSON.stringify(job.steps, null, 1)}`).toBe('Succeeded');
    return job;
  }

  async function startAgent(
    store: ArmFabricStore,
    resourceGroup: string,
    connection: string,
  ): Promise<ArmVmAgent> {
    const a = await startArmVmAgent(
      fake,
      store,
      { resourceGroup, name: VM },
      {
        connectionString: connection,
        logger: stack.logger,
      },
    );
    agents.push(a);
    return a;
  }

  /** Writes `byte` over NBD (the agent's export of `disk`, by lun) and into `model`. */
  async function write(
    agent: ArmVmAgent,
    disk: Disk,
    offset: number,
    length: number,
    byte: number,
    model: Model,
  ): Promise<void> {
    const r = await qemuIo(agent.port, agent.exports[disk === 'os' ? 0 : 1]!, [
      `write -P ${byte} ${offset} ${length}`,
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    model[disk].fill(byte, offset, offset + length);
  }

  /**
   * Waits until the replicas of `resourceGroup/web1` in `connection` equal `model`. Replicas are named
   * after the protected item's disks (in westus, the failed-over VM's managed disks).
   */
  async function converged(connection: string, resourceGroup: string, model: Model): Promise<void> {
    const replicas = BlobServiceClient.fromConnectionString(connection).getContainerClient(
      CONTAINERS.replicas,
    );
    const item = await TableProtectedItemStore.fromConnectionString(connection).get(resourceGroup, VM);
    const names = [...item!.disks].sort((a, b) => a.lun - b.lun).map((d) => d.name);
    for (const [lun, disk] of (['os', 'data'] as const).entries()) {
      const blob = replicas.getBlobClient(`${resourceGroup}/${VM}/${names[lun]}`);
      await waitFor(async () => (await blob.downloadToBuffer(0, SIZES[disk])).equals(model[disk]), {
        timeoutMs: 30_000,
        intervalMs: 250,
        what: `replica ${disk} of ${resourceGroup}/${VM} to match`,
      });
    }
  }

  /** The managed disk ids of a VM, by lun, after checking each holds `model`. */
  async function vmHolds(
    store: ArmFabricStore,
    resourceGroup: string,
    name: string,
    model: Model,
    what: string,
  ) {
    const vm = await store.virtualMachines.get(resourceGroup, name);
    expect(vm, `VM ${resourceGroup}/${name}`).toBeDefined();
    expect(vm!.disks.map((d) => [d.lun, d.blob.container])).toEqual([
      [0, MANAGED_DISK_CONTAINER],
      [1, MANAGED_DISK_CONTAINER],
    ]);
    const [os, data] = vm!.disks;
    expect((await fake.diskBytes(os!.blob.name)).equals(model.os), `${what}: os disk`).toBe(true);
    expect((await fake.diskBytes(data!.blob.name)).equals(model.data), `${what}: data disk`).toBe(true);
    return { vm: vm!, ids: vm!.disks.map((d) => d.blob.name) };
  }

  const exists = (id: string): boolean => fake.resources.has(id.toLowerCase());
  const snapshotsLeft = (): string[] =>
    [...fake.resources.keys()].filter((k) => k.includes('/microsoft.compute/snapshots/'));

  it('enables, tests failover, fails over, changes the point, commits, reprotects, fails back and disables', async () => {
    // The source VM: an ARM VM on two managed disks that already hold data, in a VNet.
    const model: Model = { os: diskPattern(SIZES.os, 1), data: diskPattern(SIZES.data, 2) };
    const originalDisks = await seedSourceVm(fake, east, {
      resourceGroup: RG,
      name: VM,
      disks: [
        { name: DISK_NAMES.os, data: model.os },
        { name: DISK_NAMES.data, data: model.data },
      ],
    });
    const source = await startAgent(east, RG, stack.source.connectionString);
    const eastConn = stack.source.connectionString;
    const westConn = stack.target.connectionString;
    const regions = { source: eastConn, target: westConn };

    // Enable: the initial copy reads the running VM's disks through snapshots, given back after.
    await run(`vms/${RG}/${VM}/enable-replication`);
    expect((await items.get(RG, VM))?.state).toBe('Protected');
    await converged(westConn, RG, model);
    expect(snapshotsLeft()).toEqual([]);
    expect(fake.requests.some((r) => r.path === '/msi/token')).toBe(true);

    // A, point p1; B, point p2; C with no point.
    await write(source, 'os', 0, MiB, 0x11, model);
    await write(source, 'data', 512 * KiB, 256 * KiB, 0x21, model);
    await converged(westConn, RG, model);
    const p1 = await cutPoint(regions, RG, VM);
    const afterA = copy(model);
    await write(source, 'os', 2 * MiB, 64 * KiB, 0x12, model);
    await write(source, 'data', 0, 64 * KiB, 0x22, model);
    await converged(westConn, RG, model);
    const p2 = await cutPoint(regions, RG, VM);
    const afterB = copy(model);
    await write(source, 'os', 5 * MiB, 128 * KiB, 0x13, model);
    await converged(westConn, RG, model);

    // Test failover at p1: a test VM on managed disks imported from the point; cleanup removes them.
    // Resource Manager throttles the first two disk imports and fails a VM write once: the job
    // retries them and succeeds.
    const isDiskPut = (r: { method: string; path: string }): boolean =>
      r.method === 'PUT' && /\/providers\/Microsoft\.Compute\/disks\//i.test(r.path);
    fake.fault(
      isDiskPut,
      {
        status: 429,
        headers: { 'Retry-After': '1' },
        body: { error: { code: 'TooManyRequests', message: 'The request is being throttled.' } },
      },
      2,
    );
    fake.fault((r) => r.method === 'PUT' && /\/virtualMachines\//i.test(r.path), {
      status: 503,
      body: { error: { code: 'ServiceUnavailable', message: 'Try again.' } },
    });
    fake.reset();
    await run(`vms/${RG}/${VM}/test-failover`, { recoveryPoint: { id: p1.id } });
    const diskPuts = fake.requests.filter(isDiskPut);
    expect(diskPuts.length).toBe(4); // two disks, two of their PUTs throttled
    expect(
      fake.requests.filter((r) => r.method === 'PUT' && /\/virtualMachines\//i.test(r.path)).length,
    ).toBe(2);
    const testRecord = (await items.get(RG, VM))!.testFailover!;
    const tested = await vmHolds(
      west,
      testRecord.vm.resourceGroup,
      testRecord.vm.name,
      afterA,
      'test failover',
    );
    expect(tested.vm.powerState).toBe('Running');
    await run(`vms/${RG}/${VM}/test-failover-cleanup`);
    expect(await west.virtualMachines.get(testRecord.vm.resourceGroup, testRecord.vm.name)).toBeUndefined();
    expect(tested.ids.filter(exists)).toEqual([]);
    expect(
      await west.networkInterfaces.get(testRecord.nic.resourceGroup, testRecord.nic.name),
    ).toBeUndefined();

    // Failover at p1, the source shut down; then a change of point to p2 makes new disks.
    await run(`vms/${RG}/${VM}/failover`, { recoveryPoint: { id: p1.id }, shutdownSource: true });
    expect((await east.virtualMachines.get(RG, VM))?.powerState).toBe('Stopped');
    await source.stop();
    const first = await vmHolds(west, TARGET_RG, VM, afterA, `failover to ${p1.id}`);
    expect(first.vm.powerState).toBe('Running');
    await run(`vms/${RG}/${VM}/failover`, { recoveryPoint: { id: p2.id } });
    const second = await vmHolds(west, TARGET_RG, VM, afterB, `change to ${p2.id}`);
    expect(second.ids.some((id) => first.ids.includes(id))).toBe(false);
    expect(first.ids.every(exists)).toBe(true);

    // Commit: the points go, and so do the disks of p1; p2's stay with the VM.
    const committed = await run(`vms/${RG}/${VM}/commit-failover`);
    expect(committed.result).toMatchObject({ deletedDisks: 2 });
    expect(first.ids.filter(exists)).toEqual([]);
    expect(second.ids.every(exists)).toBe(true);
    expect(originalDisks.every(exists)).toBe(true);

    // Reprotect: the failed-over VM replicates back. The original disks are the seed: they differ
    // from the failed-over ones only by C (written after p2), whose 128 KiB are sent back as p2 had
    // them; nothing else travels.
    const westAgent = await startAgent(west, TARGET_RG, westConn);
    const reprotected = await run(`vms/${RG}/${VM}/reprotect`);
    expect(reprotected.result).toMatchObject({
      protectedItem: { resourceGroup: TARGET_RG, vm: VM, region: 'westus' },
      sentBytes: 128 * KiB,
      clearedBytes: 0,
    });
    expect(snapshotsLeft()).toEqual([]);
    const back = copy(afterB);
    await converged(eastConn, TARGET_RG, back);
    await write(westAgent, 'data', MiB, 64 * KiB, 0x31, back);
    await write(westAgent, 'os', 6 * MiB, 64 * KiB, 0x32, back);
    await converged(eastConn, TARGET_RG, back);

    // Failback onto the original VM: it comes up on new managed disks holding what westus wrote; its
    // old disks, which tidemark did not make, stay.
    const failback = await run(`vms/${TARGET_RG}/${VM}/failover`, {
      recoveryPoint: 'latest',
      shutdownSource: true,
    });
    expect(failback.result).toMatchObject({ targetVm: { region: 'eastus', resourceGroup: RG, name: VM } });
    const restored = await vmHolds(east, RG, VM, back, 'failback');
    // Named like the disks they replace, with the failback job's hash: names do not grow per trip.
    expect(restored.ids.map((id) => id.split('/').at(-1))).toEqual([
      expect.stringMatching(/^web1-os-[0-9a-f]{8}$/),
      expect.stringMatching(/^web1-data-[0-9a-f]{8}$/),
    ]);
    expect(restored.vm.powerState).toBe('Running');
    expect((await west.virtualMachines.get(TARGET_RG, VM))?.powerState).toBe('Stopped');
    await westAgent.stop();
    await run(`vms/${TARGET_RG}/${VM}/commit-failover`);
    expect(originalDisks.every(exists)).toBe(true);
    expect(restored.ids.every(exists)).toBe(true);

    // Reprotect forward again: the original VM, on its new disks, replicates to westus once more.
    const eastAgain = await startAgent(east, RG, eastConn);
    const forward = await run(`vms/${TARGET_RG}/${VM}/reprotect`);
    expect(forward.result).toMatchObject({
      protectedItem: { resourceGroup: RG, vm: VM, region: 'eastus' },
      direction: 'forward',
    });
    await write(eastAgain, 'os', 7 * MiB, 64 * KiB, 0x41, back);
    await converged(westConn, RG, back);
    // The API lists both VMs from Resource Manager, with the one protected now.
    const listed = (await api('GET', 'vms')).body.vms as {
      resourceGroup: string;
      name: string;
      protection: { state: string } | null;
    }[];
    const web1s = listed.filter((v) => v.name === VM);
    expect(web1s.map((v) => [v.resourceGroup, v.protection?.state ?? null]).sort()).toEqual([
      [RG, 'Protected'],
      [TARGET_RG, null],
    ]);

    // Disable: the item and its replicas go; both VMs and their disks stay.
    await run(`vms/${RG}/${VM}/disable-replication`);
    expect(await items.get(RG, VM)).toBeUndefined();
    const replicasLeft: string[] = [];
    const replicas = BlobServiceClient.fromConnectionString(westConn).getContainerClient(CONTAINERS.replicas);
    for await (const b of replicas.listBlobsFlat({ prefix: `${RG}/${VM}/` })) replicasLeft.push(b.name);
    expect(replicasLeft).toEqual([]);
    expect((await east.virtualMachines.get(RG, VM))?.powerState).toBe('Running');
    expect(await west.virtualMachines.get(TARGET_RG, VM)).toBeDefined();
    expect([...restored.ids, ...second.ids].every(exists)).toBe(true);
    expect(snapshotsLeft()).toEqual([]);
  }, 400_000);
});
