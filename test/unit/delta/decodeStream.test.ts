import { describe, expect, it } from 'vitest';

import {
  decodeDelta,
  decodeDeltaStream,
  encodeDelta,
  isZeroEntry,
  MAX_ZERO_ENTRY_BYTES,
  type Delta,
  type DeltaStreamItem,
} from '../../../shared/delta';
import { ENTRY_HEADER_BYTES } from '../../../shared/delta/constants';
import {
  chunked,
  dataEntry,
  decodeViaStream,
  entryOffsets,
  expectCode,
  measureAllocations,
  pattern,
  sampleDelta,
} from './support';

// 16 writes of 64 KiB with a zero range after every fourth.
const bigDelta = sampleDelta({
  entries: Array.from({ length: 16 }, (_, i) => [
    { disk: i % 2, offset: i * 65536, data: pattern(65536, i) },
    ...(i % 4 === 3 ? [{ disk: i % 2, offset: (i + 1) * 65536, zeroLength: (i + 1) * 1024 * 1024 }] : []),
  ]).flat(),
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
      if (item.type === 'entry') expect(item.entry).toStrictEqual(bigDelta.entries[item.index]);
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
    expect(
      first.type === 'entry' && dataEntry(first.entry).data.equals(dataEntry(bigDelta.entries[0]).data),
    ).toBe(true);
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

  it('allocates no more than the blob, plus a 20-byte scratch buffer', async () => {
    const { total, largest } = await measureAllocations(() =>
      decodeViaStream(chunked(big, [3000]), { blobLength: big.length }),
    );
    expect(largest).toBe(65536);
    expect(total).toBeLessThanOrEqual(big.length + ENTRY_HEADER_BYTES);
  });

  it('yields zero entries without data, however they are chunked', async () => {
    const zeros: Delta = sampleDelta({
      entries: [
        { disk: 0, offset: 0, zeroLength: 512 },
        { disk: 3, offset: 1 << 30, zeroLength: MAX_ZERO_ENTRY_BYTES },
        { disk: 0, offset: 4096, data: pattern(512, 5) },
        { disk: 0xffff, offset: 2 ** 53 - 512 - MAX_ZERO_ENTRY_BYTES, zeroLength: MAX_ZERO_ENTRY_BYTES },
      ],
    });
    const blob = encodeDelta(zeros);
    for (const sizes of [[1], [1, 0], [7, 64, 1], [19, 21], [blob.length]]) {
      const decoded = await decodeViaStream(chunked(blob, sizes), { blobLength: blob.length });
      expect(decoded).toStrictEqual(zeros);
      expect(decoded.entries.map(isZeroEntry)).toEqual([true, true, false, true]);
    }
  });
});

describe('a 1 GiB zero entry in a tiny blob', () => {
  const delta = sampleDelta({ entries: [{ disk: 0, offset: 0, zeroLength: MAX_ZERO_ENTRY_BYTES }] });
  const blob = encodeDelta(delta);

  it('takes only its 20-byte entry header', () => {
    expect(blob.length).toBe(60 + 'rg-app/vm-web-01'.length + 4 + ENTRY_HEADER_BYTES + 4);
  });

  it('encodes without allocating its length', async () => {
    const { total } = await measureAllocations(async () => encodeDelta(delta));
    expect(total).toBeLessThanOrEqual(blob.length);
  });

  it('decodes whole without allocating', async () => {
    let decoded: Delta | undefined;
    const { total } = await measureAllocations(async () => (decoded = decodeDelta(blob)));
    expect(decoded).toStrictEqual(delta);
    expect(total).toBe(0);
  });

  it('streams without allocating more than the blob plus the scratch buffer', async () => {
    let decoded: Delta | undefined;
    const { total, largest } = await measureAllocations(
      async () => (decoded = await decodeViaStream(chunked(blob, [5]), { blobLength: blob.length })),
    );
    expect(decoded).toStrictEqual(delta);
    expect(largest).toBeLessThanOrEqual(blob.length);
    expect(total).toBeLessThanOrEqual(blob.length + ENTRY_HEADER_BYTES);
  });
});
