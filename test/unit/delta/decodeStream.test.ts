import { describe, expect, it } from 'vitest';

import { decodeDeltaStream, encodeDelta, type DeltaStreamItem } from '../../../shared/delta';
import {
  chunked,
  decodeViaStream,
  entryOffsets,
  expectCode,
  measureAllocations,
  pattern,
  sampleDelta,
} from './support';

const bigDelta = sampleDelta({
  entries: Array.from({ length: 16 }, (_, i) => ({
    disk: i % 2,
    offset: i * 65536,
    data: pattern(65536, i),
  })),
});
const big = encodeDelta(bigDelta);

/** A source that counts what it handed out and whether it was closed. */
function tracked(blob: Uint8Array, chunkSize: number) {
  const state = { pulled: 0, closed: false };
  const source: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => {
      let at = 0;
      return {
        next: async () => {
          if (at >= blob.length) return { done: true, value: undefined };
          const chunk = blob.subarray(at, at + chunkSize);
          at += chunk.length;
          state.pulled = at;
          return { done: false, value: chunk };
        },
        return: async () => {
          state.closed = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return { source, state };
}

describe('decodeDeltaStream', () => {
  it('yields the header and each entry as soon as its bytes have arrived', async () => {
    const chunk = 4096;
    const { source, state } = tracked(big, chunk);
    const itemEnds = [...entryOffsets(big), big.length - 4];
    const pulledAt: number[] = [];
    for await (const item of decodeDeltaStream(source, { blobLength: big.length })) {
      pulledAt.push(state.pulled);
      if (item.type === 'entry') expect(item.entry.data.equals(bigDelta.entries[item.index].data)).toBe(true);
    }
    // Item i (the header, then entry i - 1) ends where the next entry (or the trailer) starts.
    expect(pulledAt).toHaveLength(itemEnds.length);
    pulledAt.forEach((pulled, i) => expect(pulled).toBeLessThan(itemEnds[i] + chunk));
  });

  it('accepts one-byte and empty chunks', async () => {
    const small = encodeDelta(sampleDelta());
    expect(await decodeViaStream(chunked(small, [1, 0]), { blobLength: small.length })).toEqual(
      sampleDelta(),
    );
  });

  it('copies entry data out of the source chunks', async () => {
    const blob = Buffer.from(big);
    const items: DeltaStreamItem[] = [];
    for await (const item of decodeDeltaStream(chunked(blob), { blobLength: blob.length })) items.push(item);
    blob.fill(0);
    const first = items[1];
    expect(first.type === 'entry' && first.entry.data.equals(bigDelta.entries[0].data)).toBe(true);
  });

  it('closes the source when the consumer stops early', async () => {
    const { source, state } = tracked(big, 4096);
    for await (const item of decodeDeltaStream(source, { blobLength: big.length })) {
      if (item.type === 'entry') break;
    }
    expect(state.closed).toBe(true);
    expect(state.pulled).toBeLessThan(big.length);
  });

  it('closes the source when the blob is bad', async () => {
    const bad = Buffer.from(big);
    bad[bad.length >> 1] ^= 1;
    const { source, state } = tracked(bad, 4096);
    await expectCode(() => decodeViaStream(source, { blobLength: big.length }), 'DeltaBadChecksum');
    expect(state.closed).toBe(true);
  });

  it('rejects a source that ends before blobLength', async () => {
    const details = await expectCode(
      () => decodeViaStream(chunked(big.subarray(0, big.length - 1), [1000]), { blobLength: big.length }),
      'DeltaTruncated',
    );
    expect(details).toMatchObject({ at: big.length - 1, blobLength: big.length });
  });

  it('rejects a source that yields more than blobLength', async () => {
    const details = await expectCode(
      () =>
        decodeViaStream(chunked(Buffer.concat([big, Buffer.alloc(3)]), [1000]), { blobLength: big.length }),
      'DeltaOversized',
    );
    expect(details).toMatchObject({ at: big.length, blobLength: big.length });
  });

  it('rejects a blobLength over maxBytes before reading anything, and closes the source', async () => {
    const { source, state } = tracked(big, 4096);
    await expectCode(
      () => decodeViaStream(source, { blobLength: big.length, maxBytes: 1024 }),
      'DeltaOversized',
    );
    expect(state.pulled).toBe(0);
    expect(state.closed).toBe(true);
  });

  it.each([-1, 1.5, Number.NaN])('rejects blobLength %s as InvalidArgument', async (blobLength) => {
    await expectCode(() => decodeViaStream(chunked(big), { blobLength }), 'InvalidArgument');
  });

  it('allocates no more than the blob, plus an 18-byte scratch buffer', async () => {
    const { total, largest } = await measureAllocations(() =>
      decodeViaStream(chunked(big, [3000]), { blobLength: big.length }),
    );
    expect(largest).toBe(65536);
    expect(total).toBeLessThanOrEqual(big.length + 18);
  });
});
