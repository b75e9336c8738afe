import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  decodeDelta,
  encodeDelta,
  entryLength,
  isZeroEntry,
  MAX_ZERO_ENTRY_BYTES,
  readDeltaHeader,
} from '../../../shared/delta';
import { ENTRY, ENTRY_HEADER_BYTES, HEADER } from '../../../shared/delta/constants';
import {
  caught,
  chunked,
  copyOf,
  decodeViaStream,
  deltaArb,
  entryOffsets,
  measureAllocations,
  pattern,
  resealHeader,
  sampleDelta,
} from './support';

const chunkSizesArb = fc
  .array(fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 5000 })), {
    minLength: 1,
    maxLength: 12,
  })
  .filter((sizes) => sizes.some((size) => size > 0));

/** Both decoders must throw a Delta* error for `blob`; returns their codes. */
async function rejectedByBoth(blob: Buffer, sourceBytes: Uint8Array = blob): Promise<string[]> {
  const codes = [
    (await caught(() => decodeDelta(blob))).code,
    (await caught(() => decodeViaStream(chunked(sourceBytes, [97]), { blobLength: blob.length }))).code,
  ];
  for (const code of codes) expect(code).toMatch(/^Delta/);
  return codes;
}

describe('delta codec properties', () => {
  it('decodeDelta(encodeDelta(d)) is d, and readDeltaHeader agrees', () => {
    fc.assert(
      fc.property(deltaArb, (delta) => {
        const blob = encodeDelta(delta);
        expect(
          decodeDelta(blob, { vmId: delta.vmId, generation: delta.generation, maxBytes: blob.length }),
        ).toStrictEqual(delta);
        expect(readDeltaHeader(blob)).toMatchObject({
          sequence: delta.sequence,
          entryCount: delta.entries.length,
        });
      }),
    );
  });

  it('decodeDeltaStream gives the same delta however the bytes are chunked', async () => {
    await fc.assert(
      fc.asyncProperty(deltaArb, chunkSizesArb, async (delta, sizes) => {
        const blob = encodeDelta(delta);
        expect(await decodeViaStream(chunked(blob, sizes), { blobLength: blob.length })).toStrictEqual(delta);
      }),
    );
  });

  it('a zero entry takes 20 bytes of blob however long, and decoding allocates nothing for it', async () => {
    await fc.assert(
      fc.asyncProperty(deltaArb, chunkSizesArb, async (delta, sizes) => {
        const blob = encodeDelta(delta);
        const dataBytes = delta.entries.reduce((sum, e) => sum + (isZeroEntry(e) ? 0 : entryLength(e)), 0);
        const headerLength = blob.readUInt16LE(HEADER.headerLength);
        expect(blob.length).toBe(headerLength + delta.entries.length * ENTRY_HEADER_BYTES + dataBytes + 4);
        const whole = await measureAllocations(async () => decodeDelta(blob));
        expect(whole.total).toBe(0);
        const streamed = await measureAllocations(() =>
          decodeViaStream(chunked(blob, sizes), { blobLength: blob.length }),
        );
        expect(streamed.total).toBeLessThanOrEqual(headerLength + dataBytes + ENTRY_HEADER_BYTES);
      }),
    );
  });

  it('rejects every truncation with DeltaTruncated', async () => {
    await fc.assert(
      fc.asyncProperty(deltaArb, fc.nat(), chunkSizesArb, async (delta, cut, sizes) => {
        const blob = encodeDelta(delta);
        const short = blob.subarray(0, cut % blob.length);
        expect((await caught(() => decodeDelta(short))).code).toBe('DeltaTruncated');
        const whenKnown = await caught(() =>
          decodeViaStream(chunked(short, sizes), { blobLength: short.length }),
        );
        expect(whenKnown.code).toBe('DeltaTruncated');
        const whenCut = await caught(() =>
          decodeViaStream(chunked(short, sizes), { blobLength: blob.length }),
        );
        expect(whenCut.code).toBe('DeltaTruncated');
      }),
    );
  });

  it('rejects every truncation of a sample delta, byte by byte', async () => {
    const blob = encodeDelta(sampleDelta());
    for (let cut = 0; cut < blob.length; cut++) {
      expect((await caught(() => decodeDelta(blob.subarray(0, cut)))).code).toBe('DeltaTruncated');
    }
  });

  it('rejects any single changed byte, never decoding it silently', async () => {
    await fc.assert(
      fc.asyncProperty(deltaArb, fc.nat(), fc.integer({ min: 1, max: 255 }), async (delta, where, xor) => {
        const blob = copyOf(encodeDelta(delta));
        blob[where % blob.length] ^= xor;
        await rejectedByBoth(blob);
      }),
    );
  });

  it('rejects a change to any byte of a small delta', async () => {
    const good = encodeDelta(
      sampleDelta({
        appConsistent: true,
        entries: [
          { disk: 0, offset: 0, data: pattern(512, 7) },
          { disk: 2, offset: 1 << 30, zeroLength: MAX_ZERO_ENTRY_BYTES },
          { disk: 1, offset: 1 << 20, data: pattern(512, 0) },
          { disk: 1, offset: 1 << 21, zeroLength: 512 },
        ],
      }),
    );
    for (let at = 0; at < good.length; at++) {
      for (const xor of [0x01, 0xff]) {
        const blob = copyOf(good);
        blob[at] ^= xor;
        await rejectedByBoth(blob);
      }
    }
  });

  it('never allocates more than the blob when its lengths lie', async () => {
    const lieArb = fc.record({
      field: fc.constantFrom(
        'payloadLength',
        'entryCount',
        'headerLength',
        'vmIdLength',
        'entryLength',
        'entryFlags',
      ),
      value: fc.oneof(
        fc.constantFrom(
          0,
          1,
          512,
          4 * 1024 * 1024,
          4 * 1024 * 1024 + 512,
          MAX_ZERO_ENTRY_BYTES,
          MAX_ZERO_ENTRY_BYTES + 512,
          2 ** 31,
          2 ** 32 - 1,
        ),
        fc.nat({ max: 2 ** 32 - 1 }),
        fc.nat({ max: 2 ** 23 - 1 }).map((sectors) => sectors * 512),
      ),
      which: fc.nat(),
    });
    await fc.assert(
      fc.asyncProperty(deltaArb, lieArb, chunkSizesArb, async (delta, lie, sizes) => {
        const blob = copyOf(encodeDelta(delta));
        const entries = entryOffsets(blob);
        const entryLie = lie.field === 'entryLength' || lie.field === 'entryFlags';
        if (lie.field === 'payloadLength' || (entryLie && entries.length === 0)) {
          fc.pre(BigInt(lie.value) !== blob.readBigUInt64LE(HEADER.payloadLength));
          blob.writeBigUInt64LE(BigInt(lie.value), HEADER.payloadLength);
          resealHeader(blob);
        } else if (lie.field === 'entryCount') {
          fc.pre(lie.value !== entries.length);
          blob.writeUInt32LE(lie.value, HEADER.entryCount);
          resealHeader(blob);
        } else if (lie.field === 'entryLength') {
          const at = entries[lie.which % entries.length] + ENTRY.length;
          fc.pre(lie.value !== blob.readUInt32LE(at));
          blob.writeUInt32LE(lie.value, at);
        } else if (lie.field === 'entryFlags') {
          // Turns data into a zero range or back, or sets unknown bits.
          const at = entries[lie.which % entries.length] + ENTRY.flags;
          fc.pre((lie.value & 0xffff) !== blob.readUInt16LE(at));
          blob.writeUInt16LE(lie.value & 0xffff, at);
        } else {
          fc.pre((lie.value & 0xffff) !== blob.readUInt16LE(HEADER[lie.field]));
          blob.writeUInt16LE(lie.value & 0xffff, HEADER[lie.field]);
        }
        const whole = await measureAllocations(async () => decodeDelta(blob));
        expect(whole.total).toBeLessThanOrEqual(blob.length);
        const streamed = await measureAllocations(() =>
          decodeViaStream(chunked(blob, sizes), { blobLength: blob.length }),
        );
        expect(streamed.total).toBeLessThanOrEqual(blob.length + ENTRY_HEADER_BYTES);
        await rejectedByBoth(blob);
      }),
    );
  });
});
