/** Fixtures, fast-check arbitraries and byte surgery shared by the delta codec tests. */
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { expect, vi } from 'vitest';

import { isTidemarkError, type ErrorCode } from '../../../shared/errors';
import {
  decodeDeltaStream,
  isZeroEntry,
  MAX_ZERO_ENTRY_BYTES,
  type Delta,
  type DeltaDataEntry,
  type DeltaEntry,
  type DeltaStreamItem,
  type DeltaZeroEntry,
} from '../../../shared/delta';
import {
  ENTRY,
  ENTRY_FLAG_ZERO,
  ENTRY_HEADER_BYTES,
  HEADER,
  HEADER_CRC_BYTES,
} from '../../../shared/delta/constants';
import { nameSegmentProblem, vmIdProblem } from '../../../shared/delta/vmId';

export const T0 = Date.UTC(2026, 0, 1);

/** Deterministic bytes: `seed` 0 gives a zero page, anything else xorshift noise. */
export function pattern(length: number, seed: number): Buffer {
  const buf = Buffer.alloc(length);
  if (seed === 0) return buf;
  let x = seed | 1;
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf.writeInt32LE(x, i);
  }
  return buf;
}

export function sampleDelta(overrides: Partial<Delta> = {}): Delta {
  return {
    vmId: 'rg-app/vm-web-01',
    generation: 3,
    sequence: 42,
    firstWriteTime: T0,
    lastWriteTime: T0 + 900,
    appConsistent: false,
    heartbeat: false,
    entries: [
      { disk: 0, offset: 0, data: pattern(512, 7) },
      { disk: 1, offset: 1024 * 1024, data: pattern(4096, 0) },
      { disk: 1, offset: 64 * 1024 * 1024, zeroLength: 256 * 1024 * 1024 },
      { disk: 0, offset: 512, data: pattern(1024, 9) },
    ],
    ...overrides,
  };
}

/** The entry, which the test knows holds data. */
export function dataEntry(entry: DeltaEntry | undefined): DeltaDataEntry {
  if (entry === undefined || isZeroEntry(entry)) throw new Error('expected a data entry');
  return entry;
}

/** Blob offset of every entry header of an encoded blob, in order. */
export function entryOffsets(blob: Buffer): number[] {
  const headerLength = blob.readUInt16LE(HEADER.headerLength);
  const entryCount = blob.readUInt32LE(HEADER.entryCount);
  const offsets: number[] = [];
  let at = headerLength;
  for (let i = 0; i < entryCount; i++) {
    offsets.push(at);
    const zero = (blob.readUInt16LE(at + ENTRY.flags) & ENTRY_FLAG_ZERO) !== 0;
    at += ENTRY_HEADER_BYTES + (zero ? 0 : blob.readUInt32LE(at + ENTRY.length));
  }
  return offsets;
}

/** Recomputes the header CRC after a deliberate edit, so the edit reaches the checks behind it. */
export function resealHeader(blob: Buffer): Buffer {
  const crcAt = blob.readUInt16LE(HEADER.headerLength) - HEADER_CRC_BYTES;
  blob.writeUInt32LE(crc32c(blob.subarray(0, crcAt)), crcAt);
  return blob;
}

export function copyOf(blob: Uint8Array): Buffer {
  return Buffer.from(blob);
}

/** Runs `fn` and returns the TidemarkError it throws; fails the test if it does not throw one. */
export async function caught(
  fn: () => unknown,
): Promise<{ code: ErrorCode; message: string; details: Record<string, unknown> }> {
  try {
    await fn();
  } catch (error) {
    if (isTidemarkError(error)) {
      return { code: error.code, message: error.message, details: error.details ?? {} };
    }
    throw error;
  }
  throw new Error('expected a TidemarkError, nothing was thrown');
}

export async function expectCode(fn: () => unknown, code: ErrorCode): Promise<Record<string, unknown>> {
  const error = await caught(fn);
  expect(error.code, error.message).toBe(code);
  return error.details;
}

/** Splits `blob` into chunks of the given sizes, cycling; 0 makes an empty chunk, so give one size > 0. */
export async function* chunked(
  blob: Uint8Array,
  sizes = [Math.max(1, blob.length)],
): AsyncGenerator<Uint8Array> {
  for (let i = 0, at = 0; at < blob.length; i++) {
    const size = sizes[i % sizes.length];
    yield blob.subarray(at, at + size);
    at += size;
  }
}

/** Decodes through decodeDeltaStream and rebuilds the Delta, checking the order of items. */
export async function decodeViaStream(
  source: AsyncIterable<Uint8Array>,
  options: Parameters<typeof decodeDeltaStream>[1],
): Promise<Delta> {
  const items: DeltaStreamItem[] = [];
  for await (const item of decodeDeltaStream(source, options)) items.push(item);
  const [first, ...rest] = items;
  if (first?.type !== 'header') throw new Error('the stream did not yield the header first');
  const entries: DeltaEntry[] = rest.map((item, index) => {
    if (item.type !== 'entry' || item.index !== index) {
      throw new Error(`item ${index + 1} is not entry ${index}`);
    }
    return item.entry;
  });
  expect(entries.length).toBe(first.header.entryCount);
  const { vmId, generation, sequence, firstWriteTime, lastWriteTime, appConsistent, heartbeat } =
    first.header;
  return { vmId, generation, sequence, firstWriteTime, lastWriteTime, appConsistent, heartbeat, entries };
}

/** Sums every Buffer allocation made while `fn` runs, whether it throws or not. */
export async function measureAllocations(
  fn: () => Promise<unknown>,
): Promise<{ total: number; largest: number }> {
  const spies = (['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const).map((name) => vi.spyOn(Buffer, name));
  let sizes: number[] = [];
  try {
    await fn().catch(() => undefined);
    sizes = spies.flatMap((spy) => spy.mock.calls.map((call) => Number(call[0])));
  } finally {
    spies.forEach((spy) => spy.mockRestore());
  }
  return { total: sizes.reduce((a, b) => a + b, 0), largest: Math.max(0, ...sizes) };
}

// ---- fast-check arbitraries

const segment = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 24 })
  .filter((s) => nameSegmentProblem(s) === undefined);

export const vmIdArb: fc.Arbitrary<string> = fc
  .oneof(
    fc.tuple(segment, segment).map(([rg, vm]) => `${rg}/${vm}`),
    fc.constantFrom(
      'rg/vm',
      'a/b',
      `${'r'.repeat(90)}/${'v'.repeat(64)}`,
      `${'é'.repeat(100)}/${'x'.repeat(55)}`,
    ),
  )
  .filter((id) => vmIdProblem(id) === undefined);

export const u64Arb: fc.Arbitrary<number> = fc.oneof(
  fc.nat({ max: 1000 }),
  fc.maxSafeNat(),
  fc.constant(Number.MAX_SAFE_INTEGER),
);

const MAX_SECTOR = Math.floor(Number.MAX_SAFE_INTEGER / 512);

export const dataEntryArb: fc.Arbitrary<DeltaDataEntry> = fc
  .record({
    disk: fc.oneof(fc.nat({ max: 3 }), fc.constant(0xffff)),
    sector: fc.oneof(fc.nat({ max: 1 << 20 }), fc.nat({ max: MAX_SECTOR - 8192 })),
    sectors: fc.integer({ min: 1, max: 8 }),
    seed: fc.oneof(fc.constant(0), fc.integer({ min: 1 })),
  })
  .map(({ disk, sector, sectors, seed }) => ({
    disk,
    offset: sector * 512,
    data: pattern(sectors * 512, seed),
  }));

/** Zero ranges up to 1 GiB: they cost 20 bytes of blob, however long, so nothing big is allocated. */
export const zeroEntryArb: fc.Arbitrary<DeltaZeroEntry> = fc
  .record({
    disk: fc.oneof(fc.nat({ max: 3 }), fc.constant(0xffff)),
    sector: fc.oneof(
      fc.nat({ max: 1 << 20 }),
      fc.nat({ max: MAX_SECTOR - MAX_ZERO_ENTRY_BYTES / 512 }),
      fc.constant('last' as const),
    ),
    sectors: fc.oneof(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: MAX_ZERO_ENTRY_BYTES / 512 }),
      fc.constant(MAX_ZERO_ENTRY_BYTES / 512),
    ),
  })
  .map(({ disk, sector, sectors }) => ({
    disk,
    // 'last': the range ends at the last whole sector below 2^53.
    offset: (sector === 'last' ? MAX_SECTOR - sectors : sector) * 512,
    zeroLength: sectors * 512,
  }));

export const entryArb: fc.Arbitrary<DeltaEntry> = fc.oneof(dataEntryArb, zeroEntryArb);

export const deltaArb: fc.Arbitrary<Delta> = fc
  .record({
    vmId: vmIdArb,
    generation: u64Arb,
    sequence: u64Arb,
    times: fc.tuple(u64Arb, u64Arb).map(([a, b]) => (a <= b ? [a, b] : [b, a])),
    appConsistent: fc.boolean(),
    heartbeat: fc.boolean(),
    entries: fc.array(entryArb, { maxLength: 5 }),
  })
  .map(({ times, heartbeat, entries, ...rest }) => ({
    ...rest,
    firstWriteTime: times[0],
    lastWriteTime: times[1],
    heartbeat,
    entries: heartbeat ? [] : entries,
  }));
