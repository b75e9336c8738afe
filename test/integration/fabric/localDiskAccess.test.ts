/**
 * The local fabric's disk access (shared/fabric/diskAccess.ts) on Azurite: disks are page blobs of
 * the region's `disks` container, read in place; written disks go under the VM's own prefix and get
 * the `lun` metadata the VM's agent serves them by; deletes take the snapshots along.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';

import { LocalDiskAccess, localDiskRef } from '../../../shared/fabric/diskAccess';
import { listVmDisks } from '../../../shared/vmDisks';
import { uniqueName, useAzurite } from '../../helpers/azurite';

const azurite = useAzurite();

async function access(): Promise<LocalDiskAccess> {
  const container = BlobServiceClient.fromConnectionString(azurite().connectionString).getContainerClient(
    uniqueName('disks'),
  );
  await container.create();
  return new LocalDiskAccess('westus', container);
}

describe('local disk access', () => {
  it('writes under the VM, publishes with luns in lun order, reads in place and deletes with snapshots', async () => {
    const a = await access();
    const target = await a.writeTarget('rg-asr', 'web1', 'job-1');
    expect(target.prefix).toBe('rg-asr/web1/');
    // Another job writes the same blobs: the VM's agent serves the one set.
    expect((await a.writeTarget('rg-asr', 'web1', 'job-2')).prefix).toBe('rg-asr/web1/');
    const written = [];
    for (const [name, lun] of [
      ['data', 1],
      ['os', 0],
    ] as const) {
      const blob = target.container.getPageBlobClient(`${target.prefix}${name}`);
      await blob.create(4096);
      await blob.uploadPages(Buffer.alloc(512, lun + 1), 0, 512);
      written.push({ lun, name, blobName: blob.name, sizeBytes: 4096 });
    }
    const published = await a.publish('rg-asr', 'web1', 'job-1', written);
    expect(published).toEqual([
      {
        lun: 0,
        name: 'os',
        sizeBytes: 4096,
        blob: { region: 'westus', container: 'disks', name: 'rg-asr/web1/os' },
      },
      {
        lun: 1,
        name: 'data',
        sizeBytes: 4096,
        blob: { region: 'westus', container: 'disks', name: 'rg-asr/web1/data' },
      },
    ]);
    expect((await listVmDisks(target.container, 'rg-asr', 'web1')).map((d) => [d.name, d.lun])).toEqual([
      ['os', 0],
      ['data', 1],
    ]);

    const reader = await a.openRead(localDiskRef('westus', 'rg-asr', 'web1', 'data'), 'anyone');
    expect((await reader.blob.downloadToBuffer(0, 512)).every((b) => b === 2)).toBe(true);
    await reader.close();

    await target.container.getPageBlobClient('rg-asr/web1/os').createSnapshot();
    await a.delete(published.map((d) => d.blob.name));
    await a.delete(published.map((d) => d.blob.name));
    const left = [];
    for await (const b of target.container.listBlobsFlat({ includeSnapshots: true })) left.push(b.name);
    expect(left).toEqual([]);
  });
});
