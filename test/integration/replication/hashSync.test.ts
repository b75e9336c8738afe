import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';

import { blockRanges, differingRuns, hashSyncDisk } from '../../../shared/replication/hashSync';
import { useAzurite, uniqueName } from '../../helpers/azurite';

const KiB = 1024;
const SIZE = 2 * 1024 * KiB;
const BLOCK = 64 * KiB;

describe('hash sync of a replica seeded from an old disk (real Azurite)', () => {
  const azurite = useAzurite();
  let container: ContainerClient;

  beforeAll(async () => {
    container = BlobServiceClient.fromConnectionString(azurite().connectionString).getContainerClient(
      uniqueName('hashsync'),
    );
    await container.create();
  });

  async function pageBlob(name: string, writes: [offset: number, length: number, fill: number][]) {
    const blob = container.getPageBlobClient(name);
    await blob.create(SIZE);
    for (const [offset, length, fill] of writes)
      await blob.uploadPages(Buffer.alloc(length, fill), offset, length);
    return blob;
  }

  it('sends only the blocks that differ, clears what the disk no longer has, and converges', async () => {
    const shared: [number, number, number][] = [
      [0, 256 * KiB, 1],
      [1024 * KiB, 128 * KiB, 2],
    ];
    const disk = await pageBlob('disk', [...shared, [64 * KiB, 512, 9], [1536 * KiB, 64 * KiB, 3]]);
    // The old copy: same as the disk but one block changed since, one block it lacks, one it had extra.
    const replica = await pageBlob('replica', [...shared, [1800 * KiB, 4 * KiB, 7]]);

    const first = await hashSyncDisk(disk, replica, SIZE);
    expect(first.sentBytes).toBe(2 * BLOCK); // the block at 64 KiB and the new one at 1536 KiB
    expect(first.clearedBytes).toBe(BLOCK); // the block holding the old extra 4 KiB
    expect(first.comparedBytes).toBeLessThan(SIZE);
    expect((await replica.downloadToBuffer()).equals(await disk.downloadToBuffer())).toBe(true);

    const again = await hashSyncDisk(disk, replica, SIZE);
    expect(again).toMatchObject({ sentBytes: 0, clearedBytes: 0 });
  });

  it('copies everything allocated into an empty replica (the old disk is gone)', async () => {
    const disk = await pageBlob('disk2', [
      [0, 4 * KiB, 5],
      [512 * KiB, 300 * KiB, 6],
    ]);
    const replica = await pageBlob('replica2', []);
    const result = await hashSyncDisk(disk, replica, SIZE);
    expect(result.clearedBytes).toBe(0);
    expect(result.sentBytes).toBe(BLOCK + 5 * BLOCK);
    expect((await replica.downloadToBuffer()).equals(await disk.downloadToBuffer())).toBe(true);
  });
});

describe('hash sync planning', () => {
  it('widens ranges to whole blocks and merges touching ones', () => {
    expect(
      blockRanges(
        [
          { start: 70 * KiB, end: 71 * KiB },
          { start: 0, end: 512 },
          { start: 100 * KiB, end: 200 * KiB },
        ],
        BLOCK,
        SIZE,
      ),
    ).toEqual([{ start: 0, end: 256 * KiB }]);
  });

  it('marks exactly the blocks whose bytes differ (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 512, maxLength: 8 * 512 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (bytes, flips) => {
          const a = Buffer.from(bytes);
          const b = Buffer.from(bytes);
          for (const f of flips) b[f % b.length] ^= 0xff;
          const runs = differingRuns(a, b, 512);
          for (let at = 0; at < a.length; at += 512) {
            const end = Math.min(a.length, at + 512);
            const differs = !a.subarray(at, end).equals(b.subarray(at, end));
            const marked = runs.some((r) => r.start <= at && at < r.end);
            expect(marked).toBe(differs);
          }
        },
      ),
    );
  });
});
