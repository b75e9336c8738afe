/**
 * VMs and managed disks in the ARM fabric against a fake Resource Manager: managed disks imported
 * from a blob (or copied from a snapshot), a VM created on them with its NIC and availability set
 * (exact body, If-None-Match), power states from the instance view and the start/powerOff/deallocate
 * actions awaited, updates with If-Match, disk swaps, deletes with a Location operation.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { ArmFabricStore } from '../../../../shared/fabric/arm/armFabricStore';
import { MANAGED_DISK_CONTAINER } from '../../../../shared/fabric/arm/virtualMachines';
import type { VirtualMachine, VmDisk } from '../../../../shared/fabric/types';
import { setPowerIn } from '../../../../shared/workflows/vmPower';
import { FakeArm, fakeArmStore } from '../../../helpers/fakeArm';
import { caught } from '../../../helpers/caught';

const COMPUTE = 'api-version=2024-07-01';
const DISKS = 'api-version=2024-03-02';
const GiB = 1024 ** 3;

let fake: FakeArm;
let store: ArmFabricStore;
let S: string;
let G: string;

beforeAll(async () => {
  fake = await FakeArm.start();
  S = `/subscriptions/${fake.subscriptionId}`;
  G = `${S}/resourceGroups/app-rg`;
});
afterAll(() => fake.close());

const diskId = (name: string): string => `${G}/providers/Microsoft.Compute/disks/${name}`;
/** Reading web1 reads its disks too: only a disk's diskSizeBytes is exact (the VM shows whole GiB). */
const WEB1_DISK_READS = (): string[] => [
  `GET ${diskId('web1-os')}?${DISKS}`,
  `GET ${diskId('web1-data')}?${DISKS}`,
];
const vmPath = (name = 'web1'): string => `${G}/providers/Microsoft.Compute/virtualMachines/${name}`;
const storageId = (): string =>
  `${S}/resourceGroups/dr-rg/providers/Microsoft.Storage/storageAccounts/tmtarget`;

function disk(name: string, lun: number, sizeBytes = GiB): VmDisk {
  return {
    name,
    lun,
    sizeBytes,
    blob: { region: 'eastus', container: MANAGED_DISK_CONTAINER, name: diskId(name) },
  };
}

function web1(extra: Partial<VirtualMachine> = {}): VirtualMachine {
  return {
    resourceGroup: 'app-rg',
    name: 'web1',
    region: 'eastus',
    size: 'Standard_B2s',
    powerState: 'Running',
    nics: ['web1-nic'],
    disks: [disk('web1-os', 0, 4 * GiB), disk('web1-data', 1)],
    availabilitySet: 'avset',
    ...extra,
  };
}

/** web1's managed disks as ARM has them (imported earlier: diskSizeBytes exact, diskSizeGB whole). */
async function seedDisks(): Promise<void> {
  for (const [name, bytes, osType] of [
    ['web1-os', 4 * GiB, 'Linux'],
    ['web1-data', GiB, undefined],
  ] as const) {
    fake.seed(diskId(name), {
      location: 'eastus',
      sku: { name: 'StandardSSD_LRS' },
      properties: {
        creationData: {
          createOption: 'Import',
          sourceUri: `https://tmtarget.blob.core.windows.net/x/${name}`,
        },
        diskSizeGB: Math.ceil(bytes / GiB),
        diskSizeBytes: bytes,
        ...(osType ? { osType } : {}),
      },
    });
  }
}

beforeEach(() => {
  fake.clear();
  store = fakeArmStore(fake).store;
  fake.seed(G, { location: 'eastus' });
  fake.reset();
});

describe('managed disks', () => {
  it('imports a blob into a managed disk, once', async () => {
    const uri =
      'https://tmtarget.blob.core.windows.net/replicas/app-rg/web1/os.vhd?snapshot=2026-01-01T00:00:00.0000000Z';
    const made = await store.createManagedDiskFromBlob(
      'EastUS',
      'app-rg',
      'web1-os',
      uri,
      storageId(),
      4 * GiB + 512,
      {
        osType: 'Linux',
      },
    );
    expect(made).toEqual({
      id: diskId('web1-os'),
      resourceGroup: 'app-rg',
      name: 'web1-os',
      region: 'eastus',
      // Azure sizes the disk from the VHD; this fake has no bytes behind the URI to size it from
      // (test/integration/fabric/arm/diskAccess.test.ts imports real VHDs).
      sizeBytes: 0,
      osType: 'Linux',
      createOption: 'Import',
      source: uri,
    });
    expect(fake.lines()).toEqual([
      `GET ${diskId('web1-os')}?${DISKS}`,
      `PUT ${diskId('web1-os')}?${DISKS}`,
      `GET /operations/1?${DISKS}`,
      `GET ${diskId('web1-os')}?${DISKS}`,
    ]);
    expect(fake.requests[1]!.body).toEqual({
      location: 'eastus',
      sku: { name: 'StandardSSD_LRS' },
      properties: {
        creationData: { createOption: 'Import', sourceUri: uri, storageAccountId: storageId() },
        osType: 'Linux',
      },
    });
    fake.reset();
    // Again from the same source: returned as it is.
    expect(
      await store.createManagedDiskFromBlob('eastus', 'app-rg', 'web1-os', uri, storageId(), 4 * GiB + 512),
    ).toEqual(made);
    expect(fake.lines()).toEqual([`GET ${diskId('web1-os')}?${DISKS}`]);
    // From another: a Conflict.
    const other = store.createManagedDiskFromBlob('eastus', 'app-rg', 'web1-os', `${uri}x`, storageId(), GiB);
    expect(await caught(other)).toMatchObject({ code: 'Conflict' });
  });

  it('copies a snapshot, and checks what it is given', async () => {
    const snapshot = `${G}/providers/Microsoft.Compute/snapshots/rp-1-os`;
    await store.managedDisks.createManagedDiskFromSnapshot('eastus', 'app-rg', 'restored', snapshot, GiB);
    expect(fake.requests[1]!.body).toMatchObject({
      properties: { creationData: { createOption: 'Copy', sourceResourceId: snapshot }, diskSizeGB: 1 },
    });
    const bad = [
      store.createManagedDiskFromBlob(
        'westus',
        'app-rg',
        'd',
        'https://a.blob.core.windows.net/c/b',
        storageId(),
        GiB,
      ),
      store.createManagedDiskFromBlob('eastus', 'app-rg', 'd', 'http://a/c/b', storageId(), GiB),
      store.createManagedDiskFromBlob(
        'eastus',
        'app-rg',
        'd',
        'https://a.blob.core.windows.net/c/b',
        diskId('x'),
        GiB,
      ),
      store.createManagedDiskFromBlob(
        'eastus',
        'app-rg',
        'd',
        'https://a.blob.core.windows.net/c/b',
        storageId(),
        100,
      ),
      store.managedDisks.createManagedDiskFromSnapshot('eastus', 'app-rg', 'd', storageId(), GiB),
    ];
    for (const p of bad) expect((await caught(p)).code).toBe('InvalidArgument');
    expect(await store.managedDisks.delete('app-rg', 'restored')).toBe(true);
    expect(await store.managedDisks.delete('app-rg', 'restored')).toBe(false);
  });
});

describe('virtual machines', () => {
  beforeEach(async () => {
    fake.seed(`${G}/providers/Microsoft.Network/networkInterfaces/web1-nic`, {
      location: 'eastus',
      properties: {},
    });
    fake.seed(`${G}/providers/Microsoft.Compute/availabilitySets/avset`, {
      location: 'eastus',
      sku: { name: 'Aligned' },
      properties: {},
    });
    await seedDisks();
    fake.reset();
  });

  it('creates a VM on managed disks: one PUT (If-None-Match), awaited, then read with its instance view', async () => {
    const vm = await store.virtualMachines.put(web1({ tags: { app: 'shop' } }));
    // The OS disk reads back with the osType ARM reports for it (failover needs it to import).
    const [os, data] = web1().disks;
    expect(vm).toEqual({
      ...web1({ tags: { app: 'shop' } }),
      disks: [{ ...os, osType: 'Linux' }, data],
      etag: 'W/"2"',
    });
    expect(fake.lines()).toEqual([
      `GET ${vmPath()}?$expand=instanceView&${COMPUTE}`,
      `GET ${diskId('web1-os')}?${DISKS}`,
      `PUT ${vmPath()}?${COMPUTE}`,
      `GET /operations/1?${COMPUTE}`,
      `GET ${vmPath()}?${COMPUTE}`,
      `GET ${vmPath()}?$expand=instanceView&${COMPUTE}`,
      ...WEB1_DISK_READS(),
    ]);
    expect(fake.requests[2]!.ifNoneMatch).toBe('*');
    expect(fake.requests[2]!.body).toEqual({
      location: 'eastus',
      tags: { app: 'shop' },
      properties: {
        hardwareProfile: { vmSize: 'Standard_B2s' },
        storageProfile: {
          osDisk: {
            osType: 'Linux',
            name: 'web1-os',
            createOption: 'Attach',
            managedDisk: { id: diskId('web1-os') },
          },
          dataDisks: [
            { lun: 0, name: 'web1-data', createOption: 'Attach', managedDisk: { id: diskId('web1-data') } },
          ],
        },
        networkProfile: {
          networkInterfaces: [
            {
              id: `${G}/providers/Microsoft.Network/networkInterfaces/web1-nic`,
              properties: { primary: true },
            },
          ],
        },
        availabilitySet: { id: `${G}/providers/Microsoft.Compute/availabilitySets/avset` },
      },
    });
    expect(await caught(store.virtualMachines.put(web1()))).toMatchObject({ code: 'Conflict' });
  });

  it('creates a stopped VM: ARM starts it, so it is powered off after', async () => {
    const vm = await store.virtualMachines.put(web1({ powerState: 'Stopped' }));
    expect(vm.powerState).toBe('Stopped');
    expect(fake.lines().slice(5)).toEqual([
      `POST ${vmPath()}/powerOff?${COMPUTE}`,
      `GET /operations/2?${COMPUTE}`,
      `GET ${vmPath()}?$expand=instanceView&${COMPUTE}`,
      ...WEB1_DISK_READS(),
    ]);
  });

  it('reads the power state from the instance view, and reaches each one with its action', async () => {
    const running = await store.virtualMachines.put(web1());
    for (const [state, action] of [
      ['Stopped', 'powerOff'],
      ['Deallocated', 'deallocate'],
      ['Running', 'start'],
    ] as const) {
      fake.reset();
      const vm = await setPowerIn(store, 'APP-RG', 'WEB1', state);
      expect(vm?.powerState).toBe(state);
      // Nothing else changed: no PUT, only the action, awaited.
      expect(fake.lines()).toEqual([
        `GET ${S}/resourceGroups/APP-RG/providers/Microsoft.Compute/virtualMachines/WEB1?$expand=instanceView&${COMPUTE}`,
        ...WEB1_DISK_READS(),
        // The record as ARM spells it from here on.
        `GET ${vmPath('web1')}?$expand=instanceView&${COMPUTE}`,
        `POST ${vmPath('web1')}/${action}?${COMPUTE}`,
        expect.stringMatching(/^GET \/operations\/\d+\?/),
        `GET ${vmPath('web1')}?$expand=instanceView&${COMPUTE}`,
        ...WEB1_DISK_READS(),
      ]);
      expect(vm?.etag).toBe(running.etag);
    }
    for (const [code, state] of [
      ['starting', 'Running'],
      ['stopping', 'Stopped'],
      ['deallocating', 'Deallocated'],
      ['unknown', 'Stopped'],
    ] as const) {
      fake.power.set(vmPath().toLowerCase(), code);
      expect((await store.virtualMachines.get('app-rg', 'web1'))?.powerState).toBe(state);
    }
  });

  it("sizes a disk by the disk's exact diskSizeBytes, not the whole GiB the VM shows", async () => {
    const MiB = 1024 * 1024;
    fake.seed(diskId('small-os'), {
      location: 'eastus',
      properties: { creationData: { createOption: 'Upload' }, diskSizeGB: 1, diskSizeBytes: 8 * MiB },
    });
    fake.seed(vmPath('small'), {
      location: 'eastus',
      properties: {
        hardwareProfile: { vmSize: 'Standard_B1s' },
        storageProfile: {
          osDisk: {
            name: 'small-os',
            osType: 'Linux',
            createOption: 'Attach',
            diskSizeGB: 1,
            managedDisk: { id: diskId('small-os') },
          },
          dataDisks: [],
        },
        networkProfile: { networkInterfaces: [] },
      },
    });
    const vm = await store.virtualMachines.get('app-rg', 'small');
    expect(vm?.disks.map((d) => [d.name, d.lun, d.sizeBytes])).toEqual([['small-os', 0, 8 * MiB]]);
  });

  it('awaits start, powerOff and deallocate called directly', async () => {
    await store.virtualMachines.put(web1());
    fake.reset();
    await store.virtualMachines.powerOff('app-rg', 'web1');
    await store.virtualMachines.deallocate('app-rg', 'web1');
    await store.virtualMachines.start('app-rg', 'web1');
    expect(fake.lines().filter((l) => l.startsWith('POST'))).toEqual([
      `POST ${vmPath()}/powerOff?${COMPUTE}`,
      `POST ${vmPath()}/deallocate?${COMPUTE}`,
      `POST ${vmPath()}/start?${COMPUTE}`,
    ]);
    expect(fake.power.get(vmPath().toLowerCase())).toBe('running');
  });

  it('updates with If-Match: a new size and a swapped data disk (a change of recovery point)', async () => {
    const vm = await store.virtualMachines.put(web1());
    await store.managedDisks.createManagedDiskFromSnapshot(
      'eastus',
      'app-rg',
      'web1-data-2',
      `${G}/providers/Microsoft.Compute/snapshots/s`,
      GiB,
    );
    fake.reset();
    const updated = await store.virtualMachines.put({
      ...vm,
      size: 'Standard_D4s_v5',
      disks: [vm.disks[0]!, disk('web1-data-2', 1)],
    });
    expect(updated).toMatchObject({
      size: 'Standard_D4s_v5',
      disks: [{ name: 'web1-os' }, { name: 'web1-data-2', lun: 1 }],
    });
    const put = fake.requests.find((r) => r.method === 'PUT')!;
    expect(put.ifMatch).toBe(vm.etag);
    const props = (put.body as { properties: Record<string, { dataDisks?: unknown; vmSize?: string }> })
      .properties;
    expect(props.hardwareProfile).toEqual({ vmSize: 'Standard_D4s_v5' });
    expect(props.storageProfile!.dataDisks).toEqual([
      { lun: 0, name: 'web1-data-2', createOption: 'Attach', managedDisk: { id: diskId('web1-data-2') } },
    ]);
    // The version it was read with is gone now.
    expect(await caught(store.virtualMachines.put({ ...vm, size: 'Standard_B1s' }))).toMatchObject({
      code: 'Conflict',
      retryable: true,
    });
  });

  it('refuses what an Azure VM cannot be: no OS disk, a disk that is not a managed disk', async () => {
    const noOs = web1({ disks: [disk('web1-data', 1)] });
    expect((await caught(store.virtualMachines.put(noOs))).message).toContain('lun 0');
    const blob = web1({
      disks: [
        {
          name: 'os',
          lun: 0,
          sizeBytes: GiB,
          blob: { region: 'eastus', container: 'disks', name: 'app-rg/web1/os' },
        },
      ],
    });
    const err = await caught(store.virtualMachines.put(blob));
    expect(err.code).toBe('InvalidArgument');
    expect(err.message).toContain("blob.name is the managed disk's resource id");
    const missing = web1({ disks: [disk('nope', 0)] });
    expect((await caught(store.virtualMachines.put(missing))).code).toBe('NotFound');
    expect((await caught(store.virtualMachines.put(web1({ region: 'westus' })))).code).toBe(
      'InvalidArgument',
    );
  });

  it('lists the region’s VMs with their power states, and deletes one with If-Match', async () => {
    const vm = await store.virtualMachines.put(web1());
    fake.seed(`${G}/providers/Microsoft.Compute/virtualMachines/far`, { location: 'westus', properties: {} });
    fake.reset();
    expect(await store.virtualMachines.list('app-rg')).toEqual([vm]);
    expect(fake.lines()).toEqual([
      `GET ${G}/providers/Microsoft.Compute/virtualMachines?${COMPUTE}`,
      `GET ${vmPath()}?$expand=instanceView&${COMPUTE}`,
      ...WEB1_DISK_READS(),
    ]);
    fake.reset();
    expect(await store.virtualMachines.delete('app-rg', 'web1', { etag: vm.etag })).toBe(true);
    expect(fake.lines()).toEqual([
      `GET ${vmPath()}?$expand=instanceView&${COMPUTE}`,
      `DELETE ${vmPath()}?${COMPUTE}`,
      expect.stringMatching(/^GET \/operationResults\/\d+$/),
    ]);
    expect(fake.requests[1]!.ifMatch).toBe(vm.etag);
    expect(await store.virtualMachines.get('app-rg', 'web1')).toBeUndefined();
    // The disks stay, as ARM's default delete options say.
    expect(await store.managedDisks.get('app-rg', 'web1-os')).toMatchObject({ name: 'web1-os' });
  });
});
