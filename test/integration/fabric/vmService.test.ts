/**
 * Creating and changing VMs through the fabric services against two real Azurites standing for the
 * source (eastus) and target (westus) regions.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { seedDemoFabric } from '../../../local/demoFabric';
import { startAzurite, type AzuriteInstance } from '../../../host/azurite';
import { loadConfig } from '../../../shared/config';
import { isTidemarkError } from '../../../shared/errors';
import { type FabricServices, fabricServices } from '../../../shared/fabric/services';
import type { VmPutInput } from '../../../shared/fabric/vmSpec';
import { describeVm, listVmSummaries } from '../../../shared/fabric/vmViews';
import { RecordingLogger } from '../../../shared/logger';
import { CONTAINERS } from '../../../shared/storageNames';
import { listVmDisks } from '../../../shared/vmDisks';

const MiB = 1024 * 1024;

async function refused(work: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await work;
  } catch (err) {
    if (isTidemarkError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a TidemarkError');
}

describe('VmService (two real Azurites)', () => {
  let east: AzuriteInstance;
  let west: AzuriteInstance;
  let services: FabricServices;

  beforeAll(async () => {
    [east, west] = await Promise.all([startAzurite({ name: 'eastus' }), startAzurite({ name: 'westus' })]);
    services = fabricServices(
      loadConfig({
        TIDEMARK_SOURCE_REGION: 'eastus',
        TIDEMARK_TARGET_REGION: 'westus',
        TIDEMARK_SOURCE_STORAGE: east.connectionString,
        TIDEMARK_TARGET_STORAGE: west.connectionString,
      }),
    );
  });

  afterAll(async () => {
    await Promise.all([east?.stop(), west?.stop()]);
  });

  function put(
    patch: Partial<VmPutInput> = {},
  ): Promise<{ vm: { etag?: string }; created: boolean; changed: boolean }> {
    return services.vms.createOrUpdateVm({
      resourceGroup: 'app-rg',
      name: 'web1',
      region: 'eastus',
      vnet: 'app-vnet',
      subnet: 'front',
      size: 'Standard_B1s',
      availabilitySet: 'app-avset',
      disks: [
        { name: 'os', sizeGiB: 0.0625 },
        { name: 'data', sizeGiB: 0.03125 },
      ],
      ...patch,
    });
  }

  async function diskBlobs(
    rg: string,
    vm: string,
    account = east,
  ): Promise<{ name: string; lun: number; sizeBytes: number }[]> {
    const container = BlobServiceClient.fromConnectionString(account.connectionString).getContainerClient(
      CONTAINERS.disks,
    );
    return (await listVmDisks(container, rg, vm)).map(({ name, lun, sizeBytes }) => ({
      name,
      lun,
      sizeBytes,
    }));
  }

  it('creates a VM with what it names: group, VNet, subnet, availability set, NIC and disks', async () => {
    const result = await put();
    expect(result).toMatchObject({ created: true, changed: true });
    const store = services.fabric.store('eastus');
    expect(await store.resourceGroups.get('app-rg')).toMatchObject({ name: 'app-rg', region: 'eastus' });
    expect(await store.virtualNetworks.get('app-rg', 'app-vnet')).toMatchObject({
      addressSpace: ['10.0.0.0/16'],
      subnets: [
        { name: 'front', addressPrefix: '10.0.0.0/24', ipConfigurations: [{ privateIp: '10.0.0.4' }] },
      ],
    });
    expect(await store.availabilitySets.get('app-rg', 'app-avset')).toMatchObject({
      faultDomainCount: 2,
      updateDomainCount: 5,
    });
    expect(await store.networkInterfaces.get('app-rg', 'web1-nic')).toMatchObject({
      privateIp: '10.0.0.4',
      vm: 'web1',
    });
    expect(await diskBlobs('app-rg', 'web1')).toEqual([
      { name: 'os', lun: 0, sizeBytes: 64 * MiB },
      { name: 'data', lun: 1, sizeBytes: 32 * MiB },
    ]);
    const detail = await describeVm({ ...services, now: Date.now() }, 'APP-RG', 'WEB1');
    expect(detail).toMatchObject({
      resourceGroup: 'app-rg',
      name: 'web1',
      region: 'eastus',
      powerState: 'Running',
      availabilitySet: 'app-avset',
      nics: [
        {
          name: 'web1-nic',
          privateIp: '10.0.0.4',
          vnet: 'app-vnet',
          subnet: 'front',
          addressPrefix: '10.0.0.0/24',
        },
      ],
      disks: [
        {
          name: 'os',
          lun: 0,
          sizeGiB: 0.0625,
          blob: { region: 'eastus', container: 'disks', name: 'app-rg/web1/os' },
        },
        { name: 'data', lun: 1, sizeGiB: 0.03125 },
      ],
      nbd: null,
      protectedItem: null,
    });
  });

  it('changes nothing for an identical PUT', async () => {
    const before = await services.vms.findVm('app-rg', 'web1');
    const result = await put({ resourceGroup: 'APP-RG', vnet: 'APP-VNET' });
    expect(result).toMatchObject({ created: false, changed: false });
    expect(result.vm.etag).toBe(before?.etag);
  });

  it('gives each NIC its own address and each new subnet the next /24', async () => {
    await put({ name: 'web2' });
    await put({ name: 'db1', subnet: 'back', availabilitySet: undefined });
    const store = services.fabric.store('eastus');
    expect((await store.networkInterfaces.get('app-rg', 'web2-nic'))?.privateIp).toBe('10.0.0.5');
    expect((await store.networkInterfaces.get('app-rg', 'db1-nic'))?.privateIp).toBe('10.0.1.4');
    const vnet = await store.virtualNetworks.get('app-rg', 'app-vnet');
    expect(vnet?.subnets.map((s) => [s.name, s.addressPrefix])).toEqual([
      ['front', '10.0.0.0/24'],
      ['back', '10.0.1.0/24'],
    ]);
  });

  it('allocates distinct addresses to VMs created at the same time', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `par${i}`);
    await Promise.all(names.map((name) => put({ name, subnet: 'parallel', availabilitySet: undefined })));
    const store = services.fabric.store('eastus');
    const ips = await Promise.all(
      names.map(async (n) => (await store.networkInterfaces.get('app-rg', `${n}-nic`))!.privateIp),
    );
    expect(new Set(ips).size).toBe(names.length);
    const subnet = (await store.virtualNetworks.get('app-rg', 'app-vnet'))!.subnets.find(
      (s) => s.name === 'parallel',
    )!;
    expect(subnet.ipConfigurations?.map((c) => c.privateIp).sort()).toEqual([...ips].sort());
  });

  it('changes size and power state, and adds disks at the next lun', async () => {
    const result = await put({
      size: 'Standard_B2s',
      powerState: 'Stopped',
      disks: [
        { name: 'os', sizeGiB: 0.0625 },
        { name: 'data', sizeGiB: 0.03125 },
        { name: 'logs', sizeGiB: 0.015625 },
      ],
    });
    expect(result).toMatchObject({
      created: false,
      changed: true,
      vm: { size: 'Standard_B2s', powerState: 'Stopped' },
    });
    expect((await diskBlobs('app-rg', 'web1')).map((d) => [d.name, d.lun])).toEqual([
      ['os', 0],
      ['data', 1],
      ['logs', 2],
    ]);
  });

  it('refuses to drop, resize or move, and changes nothing', async () => {
    const before = await services.vms.findVm('app-rg', 'web1');
    const all = [
      { name: 'os', sizeGiB: 0.0625 },
      { name: 'data', sizeGiB: 0.03125 },
      { name: 'logs', sizeGiB: 0.015625 },
    ];
    const drop = await refused(put({ disks: all.slice(0, 2) }));
    expect(drop).toMatchObject({ code: 'Conflict' });
    expect(drop.message).toContain(
      'disk logs, which the request leaves out; disks can be added, not removed',
    );
    const resize = await refused(put({ disks: [{ name: 'os', sizeGiB: 0.125 }, ...all.slice(1)] }));
    expect(resize.message).toContain(
      'Disk os of VM app-rg/web1 is 64 MiB; resizing a disk (to 128 MiB) is not supported',
    );
    expect((await refused(put({ disks: all, subnet: 'back' }))).message).toContain(
      'moving it to app-vnet/back is not supported',
    );
    expect((await refused(put({ disks: all, availabilitySet: undefined }))).message).toContain(
      "cannot change a VM's availability set",
    );
    expect((await refused(put({ disks: all, region: 'westus' }))).message).toBe(
      'VM app-rg/web1 is in eastus; a VM cannot move to westus.',
    );
    expect((await services.vms.findVm('app-rg', 'web1'))?.etag).toBe(before?.etag);
    expect(await diskBlobs('app-rg', 'web1')).toHaveLength(3);
  });

  it('keeps a resource group in one region', async () => {
    const conflict = await refused(put({ name: 'west1', region: 'westus' }));
    expect(conflict.code).toBe('Conflict');
    expect(conflict.message).toContain('Resource group app-rg is in eastus');
    expect(await services.fabric.store('westus').resourceGroups.get('app-rg')).toBeUndefined();
    const created = await put({ resourceGroup: 'app-rg-asr', name: 'web1', region: 'westus' });
    expect(created.created).toBe(true);
    expect(await diskBlobs('app-rg-asr', 'web1', west)).toHaveLength(2);
  });

  it('names the known regions for an unknown one, before writing anything', async () => {
    const unknown = await refused(put({ resourceGroup: 'mars-rg', region: 'marsnorth' }));
    expect(unknown).toEqual({
      code: 'InvalidArgument',
      message: 'Unknown region "marsnorth"; the known regions are eastus, westus.',
    });
    expect(await services.fabric.store('eastus').resourceGroups.get('mars-rg')).toBeUndefined();
  });

  it('refuses a disk blob left from an earlier VM before writing anything', async () => {
    const container = BlobServiceClient.fromConnectionString(east.connectionString).getContainerClient(
      CONTAINERS.disks,
    );
    await container.getPageBlobClient('left-rg/old1/swap').create(MiB, { metadata: { lun: '0' } });
    const leftover = await refused(put({ resourceGroup: 'left-rg', name: 'old1' }));
    expect(leftover.code).toBe('Conflict');
    expect(leftover.message).toContain('disks/left-rg/old1/swap is left from an earlier VM');
    expect(await services.fabric.store('eastus').resourceGroups.get('left-rg')).toBeUndefined();
    // Named in the request with its size, it is attached as it is, at its lun.
    await put({
      resourceGroup: 'left-rg',
      name: 'old1',
      disks: [
        { name: 'os', sizeGiB: 0.0625 },
        { name: 'swap', sizeGiB: 1 / 1024 },
      ],
    });
    expect(await diskBlobs('left-rg', 'old1')).toEqual([
      { name: 'swap', lun: 0, sizeBytes: MiB },
      { name: 'os', lun: 1, sizeBytes: 64 * MiB },
    ]);
  });

  it('deletes a VM, freeing its NIC’s address when asked', async () => {
    await put({ resourceGroup: 'tmp-rg', name: 'tmp1', availabilitySet: undefined });
    expect(await services.vms.deleteVm('tmp-rg', 'tmp1', { deleteNics: true, deleteDisks: true })).toBe(true);
    const store = services.fabric.store('eastus');
    expect(await store.virtualMachines.get('tmp-rg', 'tmp1')).toBeUndefined();
    expect(await store.networkInterfaces.get('tmp-rg', 'tmp1-nic')).toBeUndefined();
    expect((await store.virtualNetworks.get('tmp-rg', 'app-vnet'))?.subnets[0]?.ipConfigurations).toEqual([]);
    expect(await services.vms.deleteVm('tmp-rg', 'tmp1')).toBe(false);
    await put({ resourceGroup: 'tmp-rg', name: 'tmp1', availabilitySet: undefined });
    expect((await store.networkInterfaces.get('tmp-rg', 'tmp1-nic'))?.privateIp).toBe('10.0.0.4');
  });

  it('seeds the demo fabric once, leaving what exists as it is', async () => {
    const logger = new RecordingLogger();
    expect(await seedDemoFabric(services, 'eastus', logger)).toEqual(['demo-rg/web1', 'demo-rg/db1']);
    const store = services.fabric.store('eastus');
    expect(await store.virtualNetworks.get('demo-rg', 'demo-vnet')).toMatchObject({
      addressSpace: ['10.1.0.0/16'],
      subnets: [
        { name: 'web', addressPrefix: '10.1.1.0/24' },
        { name: 'db', addressPrefix: '10.1.2.0/24' },
      ],
    });
    expect((await store.networkInterfaces.get('demo-rg', 'web1-nic'))?.privateIp).toBe('10.1.1.4');
    expect((await store.networkInterfaces.get('demo-rg', 'db1-nic'))?.privateIp).toBe('10.1.2.4');
    expect(await diskBlobs('demo-rg', 'web1')).toEqual([
      { name: 'os', lun: 0, sizeBytes: 256 * MiB },
      { name: 'data', lun: 1, sizeBytes: 128 * MiB },
    ]);
    await services.vms.setPowerState('demo-rg', 'web1', 'Stopped');
    expect(await seedDemoFabric(services, 'eastus', logger)).toEqual([]);
    expect((await services.vms.findVm('demo-rg', 'web1'))?.powerState).toBe('Stopped');
  });

  it('shows the protected item of a replicated VM', async () => {
    const now = Date.UTC(2026, 0, 1, 12);
    await services.protectedItems!.create({
      resourceGroup: 'demo-rg',
      vm: 'db1',
      state: 'Protected',
      generation: 3,
      disks: [{ lun: 0, name: 'os', sizeBytes: 256 * MiB }],
      applyEnabled: true,
      watermark: 42,
      watermarkTime: now - 20 * 60_000,
      lastRecoveryPointAt: now - 5 * 60_000,
      stats: { deltasApplied: 42, bytesApplied: 4096 },
    });
    const detail = await describeVm({ ...services, now }, 'demo-rg', 'db1');
    expect(detail.protectedItem).toMatchObject({
      state: 'Protected',
      health: 'Warning',
      rpoSeconds: 1200,
      watermark: 42,
      generation: 3,
      stats: { deltasApplied: 42 },
    });
    const list = await listVmSummaries({ ...services, now }, 'EastUS');
    expect(list.find((v) => v.resourceGroup === 'demo-rg' && v.name === 'db1')?.protection).toEqual({
      state: 'Protected',
      health: 'Warning',
      rpoSeconds: 1200,
    });
    expect(list.every((v) => v.region === 'eastus')).toBe(true);
    expect((await listVmSummaries({ ...services, now })).some((v) => v.region === 'westus')).toBe(true);
  });
});
