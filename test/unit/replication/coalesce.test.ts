import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { DeltaEntry } from '../../../shared/delta';
import { coalesce, MAX_PUT_PAGE_BYTES } from '../../../shared/replication/coalesce';

const PAGES = 64;
const DISK = PAGES * 512;

const entryArb: fc.Arbitrary<DeltaEntry> = fc
  .record({
    disk: fc.integer({ min: 0, max: 2 }),
    page: fc.integer({ min: 0, max: PAGES - 1 }),
    pages: fc.integer({ min: 1, max: 12 }),
    fill: fc.integer({ min: 1, max: 255 }),
    zero: fc.boolean(),
  })
  .map(({ disk, page, pages, fill, zero }) => {
    const length = Math.min(pages, PAGES - page) * 512;
    return zero
      ? { disk, offset: page * 512, zeroLength: length }
      : { disk, offset: page * 512, data: Buffer.alloc(length, fill) };
  });

function applySequentially(entries: readonly DeltaEntry[]): Buffer[] {
  const disks = [0, 1, 2].map(() => Buffer.alloc(DISK, 0xee));
  for (const e of entries) {
    if ('zeroLength' in e) disks[e.disk]!.fill(0, e.offset, e.offset + e.zeroLength);
    else e.data.copy(disks[e.disk]!, e.offset);
  }
  return disks;
}

describe('coalesce', () => {
  function checkCoalesce(entries: readonly DeltaEntry[], seed: number): void {
    const ops = coalesce(entries);
    // Non-overlapping per disk, aligned, and within Put Page limits.
    for (const disk of [0, 1, 2]) {
      const spans = ops
        .filter((o) => o.disk === disk)
        .map((o) => [o.offset, o.offset + (o.kind === 'put' ? o.data.length : o.length)] as const)
        .sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    }
    for (const op of ops) {
      expect(op.offset % 512).toBe(0);
      if (op.kind === 'put') expect(op.data.length).toBeLessThanOrEqual(MAX_PUT_PAGE_BYTES);
    }
    // Apply in a shuffled order.
    const shuffled = [...ops].sort((a, b) => ((a.offset * 31 + seed) % 97) - ((b.offset * 31 + seed) % 97));
    const disks = [0, 1, 2].map(() => Buffer.alloc(DISK, 0xee));
    for (const op of shuffled) {
      if (op.kind === 'put') op.data.copy(disks[op.disk]!, op.offset);
      else disks[op.disk]!.fill(0, op.offset, op.offset + op.length);
    }
    const expected = applySequentially(entries);
    for (let d = 0; d < 3; d++) expect(disks[d]!.equals(expected[d]!)).toBe(true);
  }

  it('gives non-overlapping ops that, in any order, leave the disks as sequential replay would', () => {
    fc.assert(fc.property(fc.array(entryArb, { maxLength: 30 }), fc.integer(), checkCoalesce), {
      numRuns: 500,
    });
  });

  it('does so for long runs of overlapping writes too (a backlog batch)', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { minLength: 100, maxLength: 400 }), fc.integer(), checkCoalesce),
      { numRuns: 100 },
    );
  });

  it('touching writes of one entry stay one op; a later write splits an earlier one', () => {
    const ops = coalesce([
      { disk: 0, offset: 0, data: Buffer.alloc(4096, 1) },
      { disk: 0, offset: 1024, data: Buffer.alloc(512, 2) },
      { disk: 0, offset: 8192, zeroLength: 1024 },
      { disk: 0, offset: 9216, zeroLength: 512 },
    ]);
    expect(ops.map((o) => [o.kind, o.offset, o.kind === 'put' ? o.data.length : o.length])).toEqual([
      ['put', 0, 4096],
      ['clear', 8192, 1536],
    ]);
    const put = ops[0]!;
    expect(put.kind === 'put' && put.data.subarray(1024, 1536).equals(Buffer.alloc(512, 2))).toBe(true);
  });

  it('joins touching writes into one Put Page and splits at 4 MiB', () => {
    const mib = 1024 * 1024;
    const entries: DeltaEntry[] = [0, 1, 2, 3, 4].map((i) => ({
      disk: 0,
      offset: i * mib,
      data: Buffer.alloc(mib, i + 1),
    }));
    const ops = coalesce(entries);
    expect(ops.map((o) => [o.kind, o.offset, o.kind === 'put' ? o.data.length : 0])).toEqual([
      ['put', 0, 4 * mib],
      ['put', 4 * mib, mib],
    ]);
  });

  it('turns a huge zero range into one Clear Pages without allocating it', () => {
    const ops = coalesce([
      { disk: 1, offset: 0, data: Buffer.alloc(512, 1) },
      { disk: 1, offset: 512, zeroLength: 1024 * 1024 * 1024 },
    ]);
    expect(ops).toEqual([
      { kind: 'put', disk: 1, offset: 0, data: Buffer.alloc(512, 1) },
      { kind: 'clear', disk: 1, offset: 512, length: 1024 * 1024 * 1024 },
    ]);
  });
});
