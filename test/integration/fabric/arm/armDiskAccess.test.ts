/**
 * How workflows reach VM disks in Azure (shared/fabric/arm/armDiskAccess.ts), against the fake
 * Resource Manager with disk bytes in a real Azurite: a running VM's managed disk is read through a
 * snapshot and a read SAS that are given back afterwards; disks written for a failover become managed
 * disks imported from fixed VHDs (footer appended, import blob deleted), idempotently; a disk that is
 * not managed is refused; deletes go by id; the disks earlier jobs left behind are found by their tag.
 */
import { createHash } from 'node:crypto';

import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { isTidemarkError } from '../../../../shared/errors';
import { ArmDiskAccess, boundedName, madeDiskName } from '../../../../shared/fabric/arm/armDiskAccess';
import type { ArmFabricStore } from '../../../../shared/fabric/arm/armFabricStore';
import { MANAGED_DISK_CONTAINER } from '../../../../shared/fabric/arm/virtualMachines';
import type { WrittenDisk } from '../../../../shared/fabric/diskAccess';
import { parseVhdFooter, VHD_FOOTER_BYTES } from '../../../../shared/fabric/vhdFooter';
import { CONTAINERS } from '../../../../shared/storageNames';
import { uniqueName, useAzurite } from '../../../helpers/azurite';
import { diskPattern, expectSameBytes, seedRunningVm } from '../../../helpers/armDisks';
import { FakeArm, fakeArmStore } from '../../../helpers/fakeArm';
import { caught } from '../../../helpers/caught';

const MiB = 1024 * 1024;
const DISKS = 'api-version=2024-03-02';

const azurite = useAzurite();
let fake: FakeArm;
let S: string;
let storage: BlobServiceClient;
let east: ArmFabricStore;
let west: ArmFabricStore;

beforeAll(async () => {
  fake = await FakeArm.start();
  S = `/subscriptions/${fake.subscriptionId}`;
  storage = BlobServiceClient.fromConnectionString(azurite().connectionString);
});
afterAll(() => fake.close());

async function container(prefix: string): Promise<ContainerClient> {
  const c = storage.getContainerClient(uniqueName(prefix));
  await c.create();
  return c;
}

beforeEach(async () => {
  fake.clear();
  fake.useDiskStorage('eastus', await container('east-disks'));
  fake.useDiskStorage('westus', await container('west-disks'));
  east = fakeArmStore(fake, 'eastus').store;
  west = fakeArmStore(fake, 'westus').store;
  fake.seed(`${S}/resourceGroups/app-rg`, { location: 'eastus' });
  fake.seed(`${S}/resourceGroups/app-rg-asr`, { location: 'westus' });
  fake.seed(`${S}/resourceGroups/dr-rg`, { location: 'westus' });
  // The target region's storage account: failed-over disks are imported from its blobs.
  fake.seed(`${S}/resourceGroups/dr-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`, {
    location: 'westus',
    kind: 'StorageV2',
    sku: { name: 'Standard_LRS' },
    properties: {},
  });
  fake.reset();
});

const diskId = (rg: string, name: string): string =>
  `${S}/resourceGroups/${rg}/providers/Microsoft.Compute/disks/${name}`;
const snapshotId = (rg: string, name: string): string =>
  `${S}/resourceGroups/${rg}/providers/Microsoft.Compute/snapshots/${name}`;

const sha8 = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 8);

describe('names of the disks a job makes', () => {
  it('prefixes the VM once and keeps one hash, however many trips the disk makes', () => {
    const hash = (tag: string, disk: string): string => sha8(`${tag}\n${disk}`);
    const forward = madeDiskName('web1', 'os', 'failover-1');
    expect(forward).toBe(`web1-os-${hash('failover-1', 'os')}`);
    expect(madeDiskName('web1', 'web1-os', 'failover-1')).toMatch(/^web1-os-[0-9a-f]{8}$/);
    // Failback of that disk, then failover again: one hash, the newest job's.
    const back = madeDiskName('web1', forward, 'failback-2');
    expect(back).toBe(`web1-os-${hash('failback-2', forward)}`);
    expect(madeDiskName('WEB1', back, 'failover-3')).toBe(`web1-os-${hash('failover-3', back)}`);
    // Two disks whose names differ only in such a suffix still get two names.
    expect(madeDiskName('web1', 'data-00000001', 'j')).not.toBe(madeDiskName('web1', 'data-00000002', 'j'));
    // A test VM's disks carry its own name; a long name stays within Azure's 80 characters.
    expect(madeDiskName('web1-test', 'web1-os', 't')).toBe(`web1-test-web1-os-${hash('t', 'web1-os')}`);
    const long = madeDiskName('vm', 'd'.repeat(100), 'j');
    expect(long.length).toBe(80);
    expect(long).toMatch(/^vm-d+-[0-9a-f]{8}$/);
  });
});

describe('reading a managed disk', () => {
  it("reads a running VM's disk through a snapshot and a read SAS, and gives both back", async () => {
    const data = diskPattern(3 * MiB, 5);
    const id = await seedRunningVm(fake, 'eastus', 'app-rg', 'web1', data);
    fake.reset();
    const access = new ArmDiskAccess('eastus', east, storage);
    const reader = await access.openRead(
      { region: 'eastus', container: MANAGED_DISK_CONTAINER, name: id },
      'enable:app-rg/web1:1',
    );
    // The blob is the disk plus its VHD footer; the disk's bytes are the first sizeBytes.
    expectSameBytes(await reader.blob.downloadToBuffer(0, data.length), data);
    const ranges: { start: number; end: number }[] = [];
    for await (const r of reader.blob.listPageRanges()) ranges.push({ start: r.start, end: r.end });
    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges[0]!.start).toBe(0);

    const snapshot = boundedName('web1-os-tmread', sha8('enable:app-rg/web1:1'));
    expect(fake.resources.has(snapshotId('app-rg', snapshot).toLowerCase())).toBe(true);
    const snap = fake.requests.find((r) => r.method === 'PUT');
    expect(snap?.path).toBe(snapshotId('app-rg', snapshot));
    expect(snap?.body).toMatchObject({
      location: 'eastus',
      properties: { creationData: { createOption: 'Copy', sourceResourceId: id }, incremental: true },
    });
    expect(fake.requests.filter((r) => r.method === 'POST').map((r) => r.path)).toEqual([
      `${snapshotId('app-rg', snapshot)}/beginGetAccess`,
    ]);
    // Nothing asked the running VM's disk itself for access.
    expect(fake.requests.some((r) => r.path.startsWith(`${id}/`))).toBe(false);

    await reader.close();
    await reader.close();
    expect(fake.requests.filter((r) => r.method === 'POST').map((r) => r.path)).toEqual([
      `${snapshotId('app-rg', snapshot)}/beginGetAccess`,
      `${snapshotId('app-rg', snapshot)}/endGetAccess`,
    ]);
    expect(fake.resources.has(snapshotId('app-rg', snapshot).toLowerCase())).toBe(false);
    // The disk is untouched and still attached.
    expectSameBytes(await fake.diskBytes(id), data);
  });

  it('refuses a disk that is not a managed disk (an unmanaged VHD), asking for nothing', async () => {
    const access = new ArmDiskAccess('eastus', east, storage);
    const err = await caught(
      access.openRead(
        { region: 'eastus', account: 'old', container: 'vhds', name: 'web1.vhd' },
        'enable:app-rg/web1:1',
      ),
    );
    expect(err.code).toBe('InvalidConfig');
    expect(err.message).toContain('not a managed disk');
    expect(err.hint).toContain('az vm convert');
    expect(fake.requests).toEqual([]);
  });
});

describe('writing disks for a failover', () => {
  async function written(
    access: ArmDiskAccess,
    tag: string,
    disks: [string, number, Buffer][],
  ): Promise<WrittenDisk[]> {
    const target = await access.writeTarget('app-rg-asr', 'web1', tag);
    expect(target.container.containerName).toBe(CONTAINERS.diskImports);
    expect(target.prefix).toMatch(/^app-rg-asr\/web1\/[0-9a-f]{8}\/$/);
    const out: WrittenDisk[] = [];
    for (const [name, lun, data] of disks) {
      const blob = target.container.getPageBlobClient(`${target.prefix}${name}`);
      await blob.create(data.length);
      await blob.uploadPages(data, 0, data.length);
      out.push({ lun, name, blobName: blob.name, sizeBytes: data.length });
    }
    return out;
  }

  it('imports each written disk from a fixed VHD into a managed disk, then deletes the blob; a retry makes nothing new', async () => {
    const access = new ArmDiskAccess('westus', west, storage);
    const os = diskPattern(2 * MiB, 1);
    const data = diskPattern(4 * MiB, 2);
    const disks = await written(access, 'job-1', [
      ['data', 1, data],
      ['os', 0, os],
    ]);
    const published = await access.publish('app-rg-asr', 'web1', 'job-1', disks, { osType: 'Linux' });

    expect(published.map((d) => [d.lun, d.name, d.sizeBytes])).toEqual([
      [0, 'os', os.length],
      [1, 'data', data.length],
    ]);
    for (const d of published) {
      expect(d.blob.container).toBe(MANAGED_DISK_CONTAINER);
      expect(d.blob.name).toMatch(
        new RegExp(`^${diskId('app-rg-asr', `web1-${d.name}-[0-9a-f]{8}`).replace(/[/.]/g, '\\$&')}$`),
      );
    }
    expectSameBytes(await fake.diskBytes(published[0]!.blob.name), os);
    expectSameBytes(await fake.diskBytes(published[1]!.blob.name), data);

    const puts = fake.requests.filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.path).sort()).toEqual(published.map((d) => d.blob.name).sort());
    const osPut = puts.find((r) => r.path === published[0]!.blob.name)!;
    expect(osPut.query['api-version']).toBe('2024-03-02');
    expect(osPut.body).toMatchObject({
      location: 'westus',
      tags: { 'tidemark-disk-of': 'app-rg-asr/web1' },
      properties: {
        creationData: {
          createOption: 'Import',
          sourceUri: expect.stringContaining(`/${CONTAINERS.diskImports}/app-rg-asr/web1/`),
          storageAccountId: `${S}/resourceGroups/dr-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`,
        },
        osType: 'Linux',
      },
    });
    // The disk takes the VHD's exact size: a diskSizeGB would grow it to whole GiB.
    expect((osPut.body as { properties: Record<string, unknown> }).properties.diskSizeGB).toBeUndefined();
    expect(fake.view(published[0]!.blob.name)?.properties).toMatchObject({ diskSizeBytes: os.length });
    // Only the OS disk has an OS.
    const dataPut = puts.find((r) => r.path === published[1]!.blob.name)!;
    expect((dataPut.body as { properties: Record<string, unknown> }).properties.osType).toBeUndefined();

    // The import blobs are gone; the disks hold their own copies.
    const left: string[] = [];
    for await (const b of storage
      .getContainerClient(CONTAINERS.diskImports)
      .listBlobsFlat({ prefix: 'app-rg-asr/web1/' })) {
      left.push(b.name);
    }
    expect(left).toEqual([]);

    // A retry (the activity's answer was lost) finds the disks made and makes nothing new.
    fake.reset();
    const again = await access.publish('app-rg-asr', 'web1', 'job-1', disks, { osType: 'Linux' });
    expect(again).toEqual(published);
    expect(fake.requests.filter((r) => r.method !== 'GET')).toEqual([]);

    // Another job (a change of recovery point) gets disks of its own.
    const next = await access.publish(
      'app-rg-asr',
      'web1',
      'job-2',
      await written(access, 'job-2', [['os', 0, diskPattern(2 * MiB, 3)]]),
    );
    expect(next[0]!.blob.name).not.toBe(published[0]!.blob.name);
    expectSameBytes(await fake.diskBytes(next[0]!.blob.name), diskPattern(2 * MiB, 3));
  });

  it('writes a valid fixed-VHD footer before the import', async () => {
    const access = new ArmDiskAccess('westus', west, storage);
    const os = diskPattern(MiB, 9);
    const [disk] = await written(access, 'job-footer', [['os', 0, os]]);
    // Keep the blob: the import fails, so the footer can be read back.
    fake.fault((r) => r.method === 'PUT', {
      status: 409,
      body: { error: { code: 'Conflict', message: 'held' } },
    });
    await caught(access.publish('app-rg-asr', 'web1', 'job-footer', [disk!]));
    const blob = storage.getContainerClient(CONTAINERS.diskImports).getPageBlobClient(disk!.blobName);
    expect((await blob.getProperties()).contentLength).toBe(MiB + VHD_FOOTER_BYTES);
    expectSameBytes(await blob.downloadToBuffer(0, MiB), os);
    const footer = parseVhdFooter(await blob.downloadToBuffer(MiB, VHD_FOOTER_BYTES));
    expect(footer).toMatchObject({ currentSize: MiB, originalSize: MiB, diskType: 'fixed' });
    // Writing the footer again (a retry) gives the same bytes.
    await access.publish('app-rg-asr', 'web1', 'job-footer', [disk!]);
  });

  it('refuses a disk whose size is not a whole number of MiB, importing nothing', async () => {
    const access = new ArmDiskAccess('westus', west, storage);
    const [disk] = await written(access, 'job-odd', [['os', 0, diskPattern(MiB + 512, 4)]]);
    const err = await caught(access.publish('app-rg-asr', 'web1', 'job-odd', [disk!]));
    expect(err.code).toBe('InvalidArgument');
    expect(err.message).toMatch(/MiB/);
    expect(fake.requests.filter((r) => r.method === 'PUT')).toEqual([]);
  });

  it('names the storage account when it is not in the subscription', async () => {
    fake.clear();
    const access = new ArmDiskAccess('westus', fakeArmStore(fake, 'westus').store, storage);
    const [disk] = await written(access, 'job-acct', [['os', 0, diskPattern(MiB, 6)]]);
    const err = await caught(access.publish('app-rg-asr', 'web1', 'job-acct', [disk!]));
    expect(err.code).toBe('InvalidConfig');
    expect(err.message).toContain('devstoreaccount1');
  });

  it("finds the disks earlier jobs left behind for the VM: tagged for it, not in use, nobody else's", async () => {
    const access = new ArmDiskAccess('westus', west, storage);
    const first = await access.publish(
      'app-rg-asr',
      'web1',
      'job-a',
      await written(access, 'job-a', [['os', 0, diskPattern(MiB, 8)]]),
    );
    const second = await access.publish(
      'app-rg-asr',
      'web1',
      'job-b',
      await written(access, 'job-b', [['os', 0, diskPattern(MiB, 9)]]),
    );
    // Beside them: a disk of another VM whose name starts the same, and one tidemark did not make.
    const tagged = (tag: string | undefined): Record<string, unknown> => ({
      location: 'westus',
      ...(tag ? { tags: { 'tidemark-disk-of': tag } } : {}),
      properties: { creationData: { createOption: 'Empty' }, diskSizeGB: 1 },
    });
    fake.seed(diskId('app-rg-asr', 'web10-os-1234abcd'), tagged('app-rg-asr/web10'));
    fake.seed(diskId('app-rg-asr', 'web1-scratch'), tagged(undefined));
    const inUse = second.map((d) => d.blob.name.toUpperCase());
    fake.reset();

    expect(await access.leftBehind('APP-RG-ASR', 'Web1', inUse)).toEqual(first.map((d) => d.blob.name));
    expect(fake.lines()).toEqual([
      `GET ${S}/resourceGroups/APP-RG-ASR/providers/Microsoft.Compute/disks?${DISKS}`,
    ]);
    expect(await access.leftBehind('app-rg-asr', 'web1', [...inUse, first[0]!.blob.name])).toEqual([]);
    // A group that is gone has nothing left behind.
    expect(await access.leftBehind('gone-rg', 'web1', [])).toEqual([]);
  });

  it('deletes the disks it made by id; a disk already gone is fine', async () => {
    const access = new ArmDiskAccess('westus', west, storage);
    const published = await access.publish(
      'app-rg-asr',
      'web1',
      'job-del',
      await written(access, 'job-del', [['os', 0, diskPattern(MiB, 7)]]),
    );
    const id = published[0]!.blob.name;
    fake.reset();
    await access.delete([id]);
    await access.delete([id]);
    expect(fake.resources.has(id.toLowerCase())).toBe(false);
    expect(fake.lines().filter((l) => l.startsWith('DELETE'))).toEqual([
      `DELETE ${id}?${DISKS}`,
      `DELETE ${id}?${DISKS}`,
    ]);
    expect(isTidemarkError(await caught(access.delete(['disks/app-rg/web1/os'])), 'InvalidConfig')).toBe(
      true,
    );
  });
});
