/**
 * The workflows' disk activities in ARM mode (TIDEMARK_FABRIC=arm), against the fake Resource
 * Manager with disk bytes in a real Azurite and signed in through its managed identity endpoint, as
 * the function app in Azure is: enable replication's initial copy reads a running VM's managed disk
 * through a snapshot (only the disk's bytes, not the VHD footer after them), and reprotect's hash
 * sync reads the failed-over VM's disk the same way, sending only what differs. Each gives the
 * snapshot back. Enable's prerequisites refuse, up front, a disk that could not be failed over.
 */
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { copyDisk } from '../../../../orchestrations/enable/copyDisk.activities';
import { checkPrerequisites } from '../../../../orchestrations/enable/prerequisites.activities';
import { syncDisk } from '../../../../orchestrations/reprotect/syncDisk.activities';
import { MANAGED_DISK_CONTAINER } from '../../../../shared/fabric/arm/virtualMachines';
import { CONTAINERS } from '../../../../shared/storageNames';
import { uniqueName, useAzurite } from '../../../helpers/azurite';
import { diskPattern, expectSameBytes, seedRunningVm } from '../../../helpers/armDisks';
import { FakeArm } from '../../../helpers/fakeArm';
import { caught } from '../../../helpers/caught';

const MiB = 1024 * 1024;
const azurite = useAzurite();
let fake: FakeArm;
let S: string;
let replicas: ContainerClient;
const saved = { ...process.env };

beforeAll(async () => {
  fake = await FakeArm.start();
  fake.requireToken = true;
  S = `/subscriptions/${fake.subscriptionId}`;
  const storage = BlobServiceClient.fromConnectionString(azurite().connectionString);
  for (const region of ['eastus', 'westus']) {
    const c = storage.getContainerClient(uniqueName(`${region}-disks`));
    await c.create();
    fake.useDiskStorage(region, c);
  }
  replicas = storage.getContainerClient(CONTAINERS.replicas);
  await replicas.createIfNotExists();
  Object.assign(process.env, {
    TIDEMARK_FABRIC: 'arm',
    AZURE_SUBSCRIPTION_ID: fake.subscriptionId,
    TIDEMARK_ARM_ENDPOINT: fake.url,
    IDENTITY_ENDPOINT: `${fake.url}/msi/token`,
    IDENTITY_HEADER: fake.identityHeader,
    TIDEMARK_SOURCE_REGION: 'eastus',
    TIDEMARK_TARGET_REGION: 'westus',
    TIDEMARK_SOURCE_STORAGE: azurite().connectionString,
    TIDEMARK_TARGET_STORAGE: azurite().connectionString,
  });
  fake.seed(`${S}/resourceGroups/app-rg`, { location: 'eastus' });
  fake.seed(`${S}/resourceGroups/app-rg-asr`, { location: 'westus' });
});

afterAll(async () => {
  process.env = saved;
  await fake.close();
});

function snapshotsLeft(): string[] {
  return [...fake.resources.keys()].filter((k) => k.includes('/microsoft.compute/snapshots/'));
}

describe('disk activities in ARM mode', () => {
  it("enable's initial copy reads the running VM's managed disk through a snapshot, without the footer", async () => {
    const data = Buffer.concat([diskPattern(2 * MiB, 1), Buffer.alloc(MiB), diskPattern(MiB, 2)]);
    const id = await seedRunningVm(fake, 'eastus', 'app-rg', 'web1', data);
    const replica = replicas.getPageBlobClient('app-rg/web1/web1-os');
    await replica.create(data.length);
    fake.reset();

    const result = await copyDisk({
      resourceGroup: 'app-rg',
      vm: 'web1',
      generation: 1,
      disk: {
        lun: 0,
        name: 'web1-os',
        sizeBytes: data.length,
        blob: { region: 'eastus', container: MANAGED_DISK_CONTAINER, name: id },
        osType: 'Linux',
      },
    });

    expectSameBytes(await replica.downloadToBuffer(0, data.length), data);
    // The VHD footer after the disk's bytes is allocated in the disk's blob, but not the disk's.
    expect(result.allocatedBytes).toBe(data.length);
    expect(result.copiedBytes).toBe(data.length);
    // Signed in through the managed identity endpoint, as in Azure.
    expect(fake.requests.some((r) => r.path === '/msi/token')).toBe(true);
    expect(fake.requests.filter((r) => r.method === 'POST').map((r) => r.path.split('/').at(-1))).toEqual([
      'beginGetAccess',
      'endGetAccess',
    ]);
    expect(snapshotsLeft()).toEqual([]);
  });

  it("reprotect's hash sync reads the failed-over VM's managed disk and sends only what differs", async () => {
    const data = diskPattern(4 * MiB, 3);
    const id = await seedRunningVm(fake, 'westus', 'app-rg-asr', 'web2', data);
    // The replica back in eastus, seeded from the old disk: the same but for one 64 KiB block.
    const replica = replicas.getPageBlobClient('app-rg-asr/web2/web2-os');
    const old = Buffer.from(data);
    old.fill(0xee, MiB, MiB + 64 * 1024);
    await replica.create(old.length);
    await replica.uploadPages(old, 0, old.length);
    fake.reset();

    const result = await syncDisk({
      reverse: { resourceGroup: 'app-rg-asr', vm: 'web2', generation: 2, direction: 'reverse' },
      disk: {
        lun: 0,
        name: 'web2-os',
        sizeBytes: data.length,
        blob: { region: 'westus', container: MANAGED_DISK_CONTAINER, name: id },
      },
    });

    expectSameBytes(await replica.downloadToBuffer(0, data.length), data);
    expect(result.sentBytes).toBe(64 * 1024);
    expect(result.comparedBytes).toBe(data.length);
    expect(snapshotsLeft()).toEqual([]);
  });
});

describe("enable's prerequisites in ARM mode", () => {
  /** A running VM whose OS disk is `disk` (a managed disk's id, or an unmanaged VHD). */
  function seedVm(name: string, disk: Record<string, unknown>): void {
    fake.seed(`${S}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/${name}`, {
      location: 'eastus',
      properties: {
        hardwareProfile: { vmSize: 'Standard_B2s' },
        storageProfile: {
          osDisk: { name: `${name}-os`, osType: 'Linux', createOption: 'Attach', diskSizeGB: 1, ...disk },
          dataDisks: [],
        },
        networkProfile: { networkInterfaces: [] },
      },
    });
  }

  it('refuses a disk that could not be failed over: not a whole number of MiB', async () => {
    // A disk uploaded from a VHD of 1 MiB + 512 bytes (Azure sizes the VM's view to whole GiB).
    const disk = `${S}/resourceGroups/app-rg/providers/Microsoft.Compute/disks/odd1-os`;
    fake.seed(disk, {
      location: 'eastus',
      properties: { creationData: { createOption: 'Upload' }, diskSizeGB: 1, diskSizeBytes: MiB + 512 },
    });
    seedVm('odd1', { managedDisk: { id: disk } });
    const err = await caught(checkPrerequisites({ resourceGroup: 'app-rg', vm: 'odd1', overrides: {} }));
    expect(err.code).toBe('InvalidConfig');
    expect(err.message).toBe(
      "Disk odd1-os of VM app-rg/odd1 can't be failed over: Azure imports a disk from a fixed VHD whose data is a whole number of MiB, and 1049088 bytes is not a whole number of MiB; the nearest valid sizes are 1 MiB (1048576 bytes) and 2 MiB (2097152 bytes).",
    );
    expect(err.hint).toMatch(/az disk update --size-gb/);
  });

  it('refuses an unmanaged disk (a VHD in a storage account)', async () => {
    seedVm('classic1', { vhd: { uri: 'https://classicstore.blob.core.windows.net/vhds/classic1-os.vhd' } });
    const err = await caught(checkPrerequisites({ resourceGroup: 'app-rg', vm: 'classic1', overrides: {} }));
    expect(err.code).toBe('InvalidConfig');
    expect(err.message).toMatch(/is not a managed disk/);
    expect(err.hint).toMatch(/az vm convert/);
  });
});
