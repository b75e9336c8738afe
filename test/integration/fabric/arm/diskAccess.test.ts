/**
 * Managed disk bytes through the ARM fabric, against the fake Resource Manager with disk storage in a
 * real Azurite: import of a blob needs a fixed VHD (refused with 400 and nothing made otherwise),
 * snapshots copy a disk's bytes, a read grant gives a SAS URL a page blob client reads (and cannot
 * write), a running VM's disk cannot be exported, and access must be revoked before a delete. The
 * exact requests are checked as the unit tests do.
 */
import {
  AnonymousCredential,
  BlobServiceClient,
  type ContainerClient,
  PageBlobClient,
  RestError,
} from '@azure/storage-blob';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { ArmClient } from '../../../../shared/fabric/arm/armClient';
import type { ArmFabricStore } from '../../../../shared/fabric/arm/armFabricStore';
import { parseVhdFooter, VHD_FOOTER_BYTES, vhdFooter } from '../../../../shared/fabric/vhdFooter';
import { uniqueName, useAzurite } from '../../../helpers/azurite';
import { FakeArm, fakeArmStore } from '../../../helpers/fakeArm';
import { caught } from '../../../helpers/caught';

const DISKS = 'api-version=2024-03-02';
const MiB = 1024 * 1024;

const azurite = useAzurite();
let fake: FakeArm;
let store: ArmFabricStore;
let client: ArmClient;
let diskStorage: ContainerClient;
let imports: ContainerClient;
let G: string;
let accountId: string;

beforeAll(async () => {
  fake = await FakeArm.start();
  G = `/subscriptions/${fake.subscriptionId}/resourceGroups/app-rg`;
  accountId = `/subscriptions/${fake.subscriptionId}/resourceGroups/dr-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`;
  imports = BlobServiceClient.fromConnectionString(azurite().connectionString).getContainerClient(
    uniqueName('imports'),
  );
  await imports.create();
});
afterAll(() => fake.close());

beforeEach(async () => {
  // A container of its own per test, so a test sees only the backing blobs it made.
  diskStorage = BlobServiceClient.fromConnectionString(azurite().connectionString).getContainerClient(
    uniqueName('fakedisks'),
  );
  await diskStorage.create();
  fake.clear();
  fake.useDiskStorage('eastus', diskStorage);
  ({ store, client } = fakeArmStore(fake));
  fake.seed(G, { location: 'eastus' });
  fake.reset();
});

const diskId = (name: string): string => `${G}/providers/Microsoft.Compute/disks/${name}`;
const snapshotId = (name: string): string => `${G}/providers/Microsoft.Compute/snapshots/${name}`;
const vmId = (name: string): string => `${G}/providers/Microsoft.Compute/virtualMachines/${name}`;

/** `mibs` MiB of a pattern that differs per disk and per offset. */
function pattern(mibs: number, seed: number): Buffer {
  const data = Buffer.alloc(mibs * MiB);
  for (let i = 0; i < data.length; i += 512) data.writeUInt32BE((seed * 7919 + i) >>> 0, i);
  return data;
}

/** A page blob in the imports container holding `bytes`. */
async function sourceBlob(name: string, bytes: Buffer): Promise<PageBlobClient> {
  const blob = imports.getPageBlobClient(`${uniqueName('src')}/${name}`);
  await blob.create(bytes.length);
  for (let offset = 0; offset < bytes.length; offset += 4 * MiB) {
    const chunk = bytes.subarray(offset, offset + 4 * MiB);
    await blob.uploadPages(chunk, offset, chunk.length);
  }
  return blob;
}

async function backingBlobNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const b of diskStorage.listBlobsFlat()) names.push(b.name);
  return names;
}

async function statusOf(p: Promise<unknown>): Promise<number | undefined> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return err instanceof RestError ? err.statusCode : undefined;
}

describe('import of a blob into a managed disk', () => {
  it('imports a fixed VHD: the disk holds its data, sized by it', async () => {
    const data = pattern(2, 1);
    const blob = await sourceBlob('os.vhd', Buffer.concat([data, vhdFooter(data.length, 'os')]));
    const disk = await store.createManagedDiskFromBlob(
      'eastus',
      'app-rg',
      'web1-os',
      blob.url,
      accountId,
      data.length,
      {
        osType: 'Linux',
      },
    );
    expect(disk).toEqual({
      id: diskId('web1-os'),
      resourceGroup: 'app-rg',
      name: 'web1-os',
      region: 'eastus',
      sizeBytes: 2 * MiB,
      osType: 'Linux',
      createOption: 'Import',
      source: blob.url,
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
        // No diskSizeGB: the disk takes the VHD's exact size.
        creationData: { createOption: 'Import', sourceUri: blob.url, storageAccountId: accountId },
        osType: 'Linux',
      },
    });
    expect(fake.view(diskId('web1-os'))?.properties).toMatchObject({ diskSizeGB: 1, diskSizeBytes: 2 * MiB });
    expect((await fake.diskBytes(diskId('web1-os'))).equals(data)).toBe(true);
    // The disk has its own copy: the source can go.
    await blob.delete();
    expect((await fake.diskBytes(diskId('web1-os'))).equals(data)).toBe(true);
    expect(await backingBlobNames()).toEqual(['app-rg/disks/web1-os']);
  });

  it('refuses a blob without a footer, with a footer of another size, or not a whole MiB: 400, nothing made', async () => {
    const data = pattern(2, 2);
    const cases: [string, Buffer, string][] = [
      ['raw', data, 'cookie'],
      [
        'bigger',
        Buffer.concat([data, vhdFooter(3 * MiB, 'x')]),
        'says the disk is 3145728 bytes, but 2097152',
      ],
      [
        'odd',
        Buffer.concat([data, Buffer.alloc(512), vhdFooter(2 * MiB, 'x')]),
        'but 2097664 bytes precede it',
      ],
    ];
    for (const [name, bytes, reason] of cases) {
      const blob = await sourceBlob(name, bytes);
      fake.reset();
      const err = await caught(
        store.createManagedDiskFromBlob('eastus', 'app-rg', name, blob.url, accountId, data.length),
      );
      expect(err).toMatchObject({
        code: 'InvalidArgument',
        details: { status: 400, armCode: 'InvalidParameter', method: 'PUT', path: diskId(name) },
      });
      expect(err.message).toContain(`The VHD blob ${blob.url} of disk '${name}' is not a supported VHD`);
      expect(err.message).toContain(reason);
      expect(fake.lines()).toEqual([`GET ${diskId(name)}?${DISKS}`, `PUT ${diskId(name)}?${DISKS}`]);
      expect(await store.managedDisks.get('app-rg', name)).toBeUndefined();
    }
    expect(await backingBlobNames()).toEqual([]);
  });

  it('refuses a source that is missing, or not in the storage account it names', async () => {
    const missing = imports.getPageBlobClient('nothing/here.vhd');
    expect(
      await caught(store.createManagedDiskFromBlob('eastus', 'app-rg', 'd1', missing.url, accountId, MiB)),
    ).toMatchObject({ code: 'NotFound' });
    const blob = await sourceBlob('ok.vhd', Buffer.concat([pattern(1, 3), vhdFooter(MiB, 'ok')]));
    const otherAccount = accountId.replace(/devstoreaccount1$/, 'otheraccount');
    expect(
      await caught(store.createManagedDiskFromBlob('eastus', 'app-rg', 'd2', blob.url, otherAccount, MiB)),
    ).toMatchObject({ code: 'InvalidArgument', details: { armCode: 'InvalidParameter' } });
    expect(await backingBlobNames()).toEqual([]);
  });
});

describe('snapshots and access grants', () => {
  it('reads a snapshot through a read SAS: its bytes as they were, the footer after them, no writes', async () => {
    const data = pattern(3, 4);
    await fake.seedDisk('eastus', 'app-rg', 'web1-data', data);
    fake.reset();
    const snapshot = await store.snapshots.create('eastus', 'app-rg', 'web1-data-snap', diskId('web1-data'), {
      incremental: true,
    });
    expect(snapshot).toMatchObject({
      id: snapshotId('web1-data-snap'),
      sizeBytes: 3 * MiB,
      source: diskId('web1-data'),
    });

    // Writes to the disk after the snapshot do not change it (through a write grant on the disk).
    const diskSas = await store.grantAccess(diskId('web1-data'), 'Write', 600);
    await new PageBlobClient(diskSas, new AnonymousCredential()).uploadPages(Buffer.alloc(512, 0xee), 0, 512);
    await store.revokeAccess(diskId('web1-data'));
    expect((await fake.diskBytes(diskId('web1-data'))).subarray(0, 512).every((b) => b === 0xee)).toBe(true);

    fake.reset();
    const sas = await store.grantAccess(snapshot.id, 'Read', 3600);
    expect(fake.lines()).toEqual([
      `POST ${snapshotId('web1-data-snap')}/beginGetAccess?${DISKS}`,
      expect.stringMatching(new RegExp(`^GET /operations/\\d+\\?${DISKS}$`)),
    ]);
    expect(fake.requests[0]!.body).toEqual({ access: 'Read', durationInSeconds: 3600 });
    expect(new URL(sas).searchParams.get('sp')).toBe('r');
    expect(fake.view(snapshot.id)?.properties).toMatchObject({ diskState: 'ActiveSAS' });

    const reader = new PageBlobClient(sas, new AnonymousCredential());
    const size = (await reader.getProperties()).contentLength!;
    expect(size).toBe(data.length + VHD_FOOTER_BYTES);
    expect((await reader.downloadToBuffer(0, data.length)).equals(data)).toBe(true);
    expect(parseVhdFooter(await reader.downloadToBuffer(data.length, VHD_FOOTER_BYTES))).toMatchObject({
      currentSize: data.length,
      diskType: 'fixed',
    });
    const ranges: { start: number; end: number }[] = [];
    for await (const r of reader.listPageRanges()) ranges.push({ start: r.start, end: r.end });
    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges[0]!.start).toBe(0);
    expect(ranges.at(-1)!.end).toBe(size - 1);
    expect(await statusOf(reader.uploadPages(Buffer.alloc(512), 0, 512))).toBe(403);
    expect((await fake.diskBytes(snapshot.id)).equals(data)).toBe(true);

    // A disk made from the snapshot has the snapshot's bytes.
    const restored = await store.managedDisks.createManagedDiskFromSnapshot(
      'eastus',
      'app-rg',
      'restored',
      snapshot.id,
      data.length,
    );
    expect(restored.sizeBytes).toBe(data.length);
    expect((await fake.diskBytes(restored.id)).equals(data)).toBe(true);
  });

  it('refuses to export the disk of a running VM, with a clear Conflict; a deallocated one is fine', async () => {
    await fake.seedDisk('eastus', 'app-rg', 'web1-os', pattern(1, 5), { osType: 'Linux' });
    fake.seed(vmId('web1'), {
      location: 'eastus',
      properties: {
        storageProfile: { osDisk: { createOption: 'Attach', managedDisk: { id: diskId('web1-os') } } },
      },
    });
    fake.reset();
    const err = await caught(store.grantAccess(diskId('web1-os'), 'Read', 600));
    expect(err).toMatchObject({
      code: 'Conflict',
      kind: 'user',
      retryable: false,
      details: { status: 409, armCode: 'OperationNotAllowed', resourceId: diskId('web1-os') },
    });
    expect(err.message).toContain('which is not deallocated');
    expect(err.message).toContain('take a snapshot of the disk');
    expect(err.hint).toContain('deallocate the VM');
    expect(fake.lines()).toEqual([`POST ${diskId('web1-os')}/beginGetAccess?${DISKS}`]);
    expect(fake.view(diskId('web1-os'))?.properties).not.toHaveProperty('diskState');

    await store.virtualMachines.deallocate('app-rg', 'web1');
    const sas = await store.grantAccess(diskId('web1-os'), 'Read', 600);
    expect(
      (await new PageBlobClient(sas, new AnonymousCredential()).downloadToBuffer(0, MiB)).equals(
        pattern(1, 5),
      ),
    ).toBe(true);
    // A VM cannot start on a disk being exported.
    expect(await caught(store.virtualMachines.start('app-rg', 'web1'))).toMatchObject({ code: 'Conflict' });
    await store.revokeAccess(diskId('web1-os'));
    await store.virtualMachines.start('app-rg', 'web1');
  });

  it('refuses to delete or attach a disk under access; after revokeAccess both work', async () => {
    await fake.seedDisk('eastus', 'app-rg', 'data1', pattern(1, 6));
    await store.grantAccess(diskId('data1'), 'Read', 600);
    fake.reset();

    const deleting = await caught(store.managedDisks.delete('app-rg', 'data1'));
    expect(deleting).toMatchObject({
      code: 'Conflict',
      details: { status: 409, armCode: 'OperationNotAllowed' },
    });
    expect(deleting.message).toContain('active SAS');
    const vm = {
      location: 'eastus',
      properties: {
        storageProfile: { osDisk: { createOption: 'Attach', managedDisk: { id: diskId('data1') } } },
      },
    };
    expect(await caught(client.put(vmId('vm2'), '2024-07-01', vm))).toMatchObject({
      code: 'Conflict',
      details: { armCode: 'OperationNotAllowed' },
    });

    fake.reset();
    await store.revokeAccess(diskId('data1'));
    expect(fake.lines()).toEqual([
      `POST ${diskId('data1')}/endGetAccess?${DISKS}`,
      expect.stringMatching(new RegExp(`^GET /operations/\\d+\\?${DISKS}$`)),
    ]);
    expect(fake.requests[0]!.body).toBeUndefined();
    expect(fake.view(diskId('data1'))?.properties).not.toHaveProperty('diskState');
    expect(await store.managedDisks.delete('app-rg', 'data1')).toBe(true);
    expect(await backingBlobNames()).toEqual([]);
  });

  it('refuses to delete a snapshot under access', async () => {
    await fake.seedDisk('eastus', 'app-rg', 'd', pattern(1, 7));
    const snapshot = await store.snapshots.create('eastus', 'app-rg', 'd-snap', diskId('d'));
    await store.grantAccess(snapshot.id, 'Read', 600);
    expect(await caught(store.snapshots.delete('app-rg', 'd-snap'))).toMatchObject({ code: 'Conflict' });
    await store.revokeAccess(snapshot.id);
    expect(await store.snapshots.delete('app-rg', 'd-snap')).toBe(true);
    expect(await backingBlobNames()).toEqual(['app-rg/disks/d']);
  });
});
