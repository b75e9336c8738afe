import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { beforeAll, describe, expect, it } from 'vitest';

import { openVmDisks } from '../../../agent/vmDisks';
import { createVmDisk, listVmDisks } from '../../../shared/vmDisks';
import { useAzurite, uniqueName } from '../../helpers/azurite';

describe('VM disks (real Azurite)', () => {
  const azurite = useAzurite();
  let disks: ContainerClient;

  beforeAll(() => {
    disks = BlobServiceClient.fromConnectionString(azurite().connectionString).getContainerClient(
      uniqueName('disks'),
    );
  });

  it('creates disks idempotently and opens them ordered by lun, indexed by lun', async () => {
    const rg = uniqueName('rg');
    await createVmDisk(disks, rg, 'vm', 'data', 3, 1024 * 1024);
    await createVmDisk(disks, rg, 'vm', 'os', 0, 2 * 1024 * 1024);
    expect(await createVmDisk(disks, rg, 'vm', 'os', 0, 2 * 1024 * 1024)).toMatchObject({
      blobName: `${rg}/vm/os`,
    });
    await createVmDisk(disks, rg, 'vm2', 'other', 0, 512);

    expect((await listVmDisks(disks, rg, 'vm')).map((d) => [d.name, d.lun, d.sizeBytes])).toEqual([
      ['os', 0, 2 * 1024 * 1024],
      ['data', 3, 1024 * 1024],
    ]);
    const opened = await openVmDisks(disks, rg, 'vm');
    expect(opened.names).toEqual(['os', 'data']);
    expect(opened.disks.map((d) => [d.index, d.size])).toEqual([
      [0, 2 * 1024 * 1024],
      [3, 1024 * 1024],
    ]);
    await opened.exports.get('data')!.write(100, Buffer.from('hello'), { fua: false });
    expect((await opened.exports.get('data')!.read(100, 5)).toString()).toBe('hello');
    expect(opened.takeUnjournaledWrites()).toBe(1);
  });

  it('refuses a second disk on a lun, or one that exists with another size', async () => {
    const rg = uniqueName('rg');
    await createVmDisk(disks, rg, 'vm', 'os', 0, 4096);
    await expect(createVmDisk(disks, rg, 'vm', 'data', 0, 4096)).rejects.toMatchObject({
      code: 'Conflict',
      message: new RegExp(`already has a disk with lun 0: ${rg}/vm/os`),
    });
    await expect(createVmDisk(disks, rg, 'vm', 'os', 0, 8192)).rejects.toMatchObject({ code: 'Conflict' });
    await expect(createVmDisk(disks, rg, 'vm', 'a/b', 1, 4096)).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
    await expect(createVmDisk(disks, rg, 'vm', 'x', 70_000, 4096)).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
    await expect(createVmDisk(disks, rg, 'vm', 'x', 1, 1000)).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
  });

  it('names the blob whose lun is missing, malformed or taken twice, or that is no page blob', async () => {
    const rg = uniqueName('rg');
    const where = `${disks.containerName}/${rg}/vm`;
    await createVmDisk(disks, rg, 'vm', 'os', 0, 4096);
    const page = disks.getPageBlobClient(`${rg}/vm/nolun`);
    await page.create(4096);
    await expect(listVmDisks(disks, rg, 'vm')).rejects.toMatchObject({
      code: 'InvalidConfig',
      message: `Disk blob ${where}/nolun has no lun metadata; it needs a decimal lun from 0 to 65535.`,
      details: { blob: `${where}/nolun` },
    });
    await page.setMetadata({ lun: 'one' });
    await expect(listVmDisks(disks, rg, 'vm')).rejects.toThrow(`${where}/nolun has lun metadata "one"`);
    await page.setMetadata({ lun: '0' });
    await expect(listVmDisks(disks, rg, 'vm')).rejects.toThrow(
      `${where}/nolun and ${where}/os both have lun 0`,
    );
    await page.delete();
    await disks.getBlockBlobClient(`${rg}/vm/notes.txt`).upload('x', 1);
    await expect(listVmDisks(disks, rg, 'vm')).rejects.toThrow(
      `${where}/notes.txt is a BlockBlob, not a page blob`,
    );
  });

  it('reports a VM without disks as NotFound, even without the container', async () => {
    await expect(listVmDisks(disks, uniqueName('rg'), 'vm')).rejects.toMatchObject({ code: 'NotFound' });
    const empty = BlobServiceClient.fromConnectionString(azurite().connectionString).getContainerClient(
      uniqueName('none'),
    );
    await expect(openVmDisks(empty, 'rg', 'vm')).rejects.toMatchObject({
      code: 'NotFound',
      message: /has no disks/,
    });
  });
});
