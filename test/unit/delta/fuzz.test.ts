import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { decodeDelta, decodeDeltaStream, encodeDelta, readDeltaHeader } from '../../../shared/delta';
import { HEADER } from '../../../shared/delta/constants';
import { isTidemarkError } from '../../../shared/errors';
import { chunked, decodeViaStream, expectCode, measureAllocations, resealHeader } from './support';

/** Every failure must be a typed delta error: no TypeError, RangeError or crash from hostile bytes. */
function expectTyped(err: unknown): void {
  expect(isTidemarkError(err), String(err)).toBe(true);
  expect((err as { code: string }).code).toMatch(/^Delta/);
}

const valid = encodeDelta({
  vmId: 'rg/vm',
  generation: 3,
  sequence: 9,
  firstWriteTime: 1,
  lastWriteTime: 2,
  appConsistent: false,
  heartbeat: false,
  entries: [
    { disk: 0, offset: 512, data: Buffer.alloc(1024, 7) },
    { disk: 1, offset: 0, zeroLength: 4096 },
  ],
});

// Random bytes, and random bytes behind a real header prefix so the fuzz gets past the magic.
const hostile = fc.oneof(
  fc.uint8Array({ maxLength: 600 }),
  fc
    .tuple(fc.integer({ min: 0, max: valid.length }), fc.uint8Array({ maxLength: 600 }))
    .map(([keep, tail]) => Buffer.concat([valid.subarray(0, keep), Buffer.from(tail)])),
);

describe('delta codec fuzz', () => {
  it('random bytes never crash decodeDelta or readDeltaHeader: a typed error or a valid delta', () => {
    fc.assert(
      fc.property(hostile, (bytes) => {
        for (const decode of [() => decodeDelta(bytes), () => readDeltaHeader(Buffer.from(bytes))]) {
          try {
            decode();
          } catch (err) {
            expectTyped(err);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('random bytes never crash or over-allocate the streaming decoder', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, fc.integer({ min: 1, max: 64 }), async (bytes, chunk) => {
        async function* chunks(): AsyncGenerator<Uint8Array> {
          for (let at = 0; at < bytes.length; at += chunk) yield bytes.subarray(at, at + chunk);
        }
        let allocated = 0;
        const original = Buffer.allocUnsafe;
        Buffer.allocUnsafe = ((size: number) => {
          allocated += size;
          return original(size);
        }) as typeof Buffer.allocUnsafe;
        try {
          for await (const _ of decodeDeltaStream(chunks(), { blobLength: bytes.length })) void _;
        } catch (err) {
          expectTyped(err);
        } finally {
          Buffer.allocUnsafe = original;
        }
        // The decoder's only fixed scratch is one 20-byte entry header.
        expect(allocated).toBeLessThanOrEqual(bytes.length + 20);
      }),
      { numRuns: 1500 },
    );
  });

  it('u64 header fields above 2^53 - 1 (up to 2^64 - 1) are DeltaMalformed, with nothing allocated for them', async () => {
    const fields = ['generation', 'sequence', 'firstWriteTime', 'lastWriteTime', 'payloadLength'] as const;
    const huge = fc.oneof(
      fc.constantFrom(2n ** 53n, 2n ** 63n, 2n ** 64n - 1n),
      fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fields), huge, async (field, value) => {
        const blob = Buffer.from(valid);
        blob.writeBigUInt64LE(value, HEADER[field]);
        resealHeader(blob);
        const details = await expectCode(() => decodeDelta(blob), 'DeltaMalformed');
        expect(details.field).toBe(field);
        expect(details.actual).toBe(value.toString());
        await expectCode(
          () => decodeViaStream(chunked(blob, [7]), { blobLength: blob.length }),
          'DeltaMalformed',
        );
        const used = await measureAllocations(() =>
          decodeViaStream(chunked(blob), { blobLength: blob.length }),
        );
        expect(used.total).toBeLessThanOrEqual(blob.length + 20);
      }),
      { numRuns: 300 },
    );
  });
});
