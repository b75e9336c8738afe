import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { alignWrite, PAGE } from '../../../agent/alignment';

describe('alignWrite', () => {
  it('widens any write to whole pages that hold exactly the bytes a direct write would', async () => {
    const size = 8 * PAGE;
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: size, maxLength: size }),
        fc.integer({ min: 0, max: size - 1 }),
        fc.integer({ min: 1, max: 3 * PAGE }),
        fc.integer({ min: 0, max: 255 }),
        async (initial, offset, rawLength, fill) => {
          const length = Math.min(rawLength, size - offset);
          const disk = Buffer.from(initial);
          const data = Buffer.alloc(length, fill);
          const reads: [number, number][] = [];
          const aligned = await alignWrite(offset, data, async (o, l) => {
            reads.push([o, l]);
            return disk.subarray(o, o + l);
          });
          expect(aligned.offset % PAGE).toBe(0);
          expect(aligned.data.length % PAGE).toBe(0);
          for (const [o, l] of reads) expect(o % PAGE === 0 && l === PAGE).toBe(true);
          expect(reads.length).toBeLessThanOrEqual(2);
          const expected = Buffer.from(disk);
          data.copy(expected, offset);
          aligned.data.copy(disk, aligned.offset);
          expect(disk.equals(expected)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('passes aligned writes through without reading', async () => {
    const data = Buffer.alloc(PAGE * 2, 1);
    const out = await alignWrite(PAGE, data, () => Promise.reject(new Error('no read expected')));
    expect(out).toEqual({ offset: PAGE, data });
  });
});
