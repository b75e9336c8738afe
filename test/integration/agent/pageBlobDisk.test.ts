import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';

import { PageBlobDisk } from '../../../agent/pageBlobDisk';
import { useAzurite, uniqueName } from '../../helpers/azurite';

describe('PageBlobDisk (real Azurite)', () => {
  const azurite = useAzurite();

  async function newDisk(size = 64 * 1024): Promise<PageBlobDisk> {
    const container = BlobServiceClient.fromConnectionString(azurite().connectionString).getContainerClient(
      uniqueName('disks'),
    );
    await container.createIfNotExists();
    return PageBlobDisk.create('d0', container.getPageBlobClient('rg/vm/d0'), size);
  }

  it('reads back unaligned writes byte for byte (read-modify-write)', async () => {
    const disk = await newDisk();
    const shadow = Buffer.alloc(disk.size);
    const writes: [number, number, number][] = [
      [0, 512, 1],
      [100, 50, 2],
      [511, 2, 3],
      [1000, 3000, 4],
      [disk.size - 7, 7, 5],
    ];
    for (const [offset, length, fill] of writes) {
      const data = Buffer.alloc(length, fill);
      await disk.write(offset, data, { fua: false });
      data.copy(shadow, offset);
    }
    expect((await disk.read(0, disk.size)).equals(shadow)).toBe(true);
    expect((await disk.read(99, 53)).equals(shadow.subarray(99, 152))).toBe(true);
  });

  it('zeroes and trims ranges of any alignment, and reports allocated ranges', async () => {
    const disk = await newDisk();
    await disk.write(0, Buffer.alloc(8192, 9), { fua: true });
    await disk.writeZeroes(100, 2000, { fua: false, mayTrim: true });
    await disk.trim(4096, 1024);
    const content = await disk.read(0, 8192);
    const expected = Buffer.alloc(8192, 9);
    expected.fill(0, 100, 2100);
    expected.fill(0, 4096, 5120);
    expect(content.equals(expected)).toBe(true);
    const ranges = await disk.allocatedRanges();
    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges.every((r) => r.offset % 512 === 0 && r.count % 512 === 0)).toBe(true);
  });

  it('writes larger than one Put Page and refuses out-of-range I/O', async () => {
    const disk = await newDisk(12 * 1024 * 1024);
    const big = Buffer.alloc(9 * 1024 * 1024 + 512);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    await disk.write(512, big, { fua: false });
    expect((await disk.read(512, big.length)).equals(big)).toBe(true);
    expect(() => disk.read(disk.size - 10, 11)).toThrow(/past its end/);
  });
});
