import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryBlockDevice } from '../../../agent/memoryBlockDevice';
import { isTidemarkError } from '../../../shared/errors';

const KiB = 1024;

describe('MemoryBlockDevice', () => {
  it('reads zeroes from a fresh device and holds no memory', async () => {
    const device = new MemoryBlockDevice('d', 1024 * KiB);
    expect((await device.read(1000, 5000)).every((b) => b === 0)).toBe(true);
    expect(device.allocatedChunks).toBe(0);
  });

  it('writes across chunk boundaries at any alignment', async () => {
    const device = new MemoryBlockDevice('d', 256 * KiB, { chunkSize: 4 * KiB });
    const data = Buffer.alloc(10_001, 0xab);
    await device.write(4095, data, { fua: false });
    expect(device.allocatedChunks).toBe(4);
    const back = await device.read(4094, 10_003);
    expect(back[0]).toBe(0);
    expect(back.subarray(1, 10_002).equals(data)).toBe(true);
    expect(back[10_002]).toBe(0);
  });

  it('frees whole chunks on trim or zeroes that may trim, and keeps them for NO_HOLE zeroes', async () => {
    const device = new MemoryBlockDevice('d', 64 * KiB, { chunkSize: 4 * KiB });
    await device.write(0, Buffer.alloc(64 * KiB, 1), { fua: false });
    expect(device.allocatedChunks).toBe(16);
    await device.trim(4 * KiB, 8 * KiB);
    expect(device.allocatedChunks).toBe(14);
    await device.writeZeroes(16 * KiB, 8 * KiB, { fua: false, mayTrim: true });
    expect(device.allocatedChunks).toBe(12);
    await device.writeZeroes(32 * KiB + 100, 8 * KiB, { fua: false, mayTrim: false });
    expect(device.allocatedChunks).toBe(12);
    await device.writeZeroes(60 * KiB, 4 * KiB, { fua: false, mayTrim: false });
    expect(device.allocatedChunks).toBe(12);
    const disk = device.snapshot();
    expect(disk.subarray(4 * KiB, 12 * KiB).every((b) => b === 0)).toBe(true);
    expect(disk.subarray(32 * KiB + 100, 40 * KiB + 100).every((b) => b === 0)).toBe(true);
    expect(disk[32 * KiB + 99]).toBe(1);
    expect(disk[40 * KiB + 100]).toBe(1);
  });

  it('counts flushes and FUA writes', async () => {
    const device = new MemoryBlockDevice('d', 4096);
    await device.write(0, Buffer.alloc(1), { fua: true });
    await device.writeZeroes(0, 1, { fua: true, mayTrim: false });
    await device.flush();
    expect(device.flushCount).toBe(3);
  });

  it('refuses ranges outside the device and sizes that are not sector multiples', async () => {
    const device = new MemoryBlockDevice('d', 4096);
    await expect(device.read(4000, 97)).rejects.toSatisfy((e) => isTidemarkError(e, 'InvalidArgument'));
    await expect(device.write(-1, Buffer.alloc(1), { fua: false })).rejects.toThrow(/outside the device/);
    await expect(device.trim(0, 4097)).rejects.toThrow(/outside the device/);
    expect(() => new MemoryBlockDevice('d', 1000)).toThrow(/multiple of 512/);
    expect(() => new MemoryBlockDevice('d', 4096, { chunkSize: 3000 })).toThrow(/power of two/);
  });

  it('behaves like a flat buffer under any sequence of operations', async () => {
    // Not a multiple of the chunk size, so the short last chunk is exercised too.
    const size = 63 * KiB + 512;
    const range = fc
      .tuple(fc.nat(size), fc.nat(size))
      .map(([a, b]) => ({ offset: Math.min(a, b), length: Math.abs(a - b) }));
    const op = fc.oneof(
      fc.record({ kind: fc.constant('write' as const), range, byte: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('zero' as const), range, mayTrim: fc.boolean() }),
      fc.record({ kind: fc.constant('trim' as const), range }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 30 }), async (ops) => {
        const device = new MemoryBlockDevice('d', size, { chunkSize: 4 * KiB });
        const model = Buffer.alloc(size);
        for (const o of ops) {
          const { offset, length } = o.range;
          if (o.kind === 'write') {
            await device.write(offset, Buffer.alloc(length, o.byte), { fua: false });
            model.fill(o.byte, offset, offset + length);
          } else if (o.kind === 'zero') {
            await device.writeZeroes(offset, length, { fua: false, mayTrim: o.mayTrim });
            model.fill(0, offset, offset + length);
          } else {
            await device.trim(offset, length);
            model.fill(0, offset, offset + length);
          }
        }
        expect(device.snapshot().equals(model)).toBe(true);
        expect((await device.read(0, size)).equals(model)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
