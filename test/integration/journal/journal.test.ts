/**
 * The journal's segments on a real Azurite: the writer's appends (concurrent, out of order,
 * duplicated, to segments that do not exist yet) and the reader's ranged reads (chunk boundaries,
 * frames jumped over, segment boundaries, gaps, growth, legacy per-delta blobs).
 */
import { createHash } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';

import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import pLimit from 'p-limit';
import { beforeAll, describe, expect, it } from 'vitest';

import { deltaBlobName } from '../../../shared/delta';
import {
  encodeFrame,
  FRAME_HEADER_BYTES,
  JournalReader,
  type JournalReaderOptions,
  journaledDeltas,
  JournalWriter,
  segmentBlobName,
} from '../../../shared/journal';
import { caught } from '../../helpers/caught';
import { uniqueName, useAzurite } from '../../helpers/azurite';

const MiB = 1024 * 1024;

/** Bytes that tell their sequence (and copy) apart: a hash stream seeded by both. */
function body(sequence: number, length = 200 + ((sequence * 37) % 900), copy = 0): Buffer {
  const out = Buffer.alloc(length);
  let block = createHash('sha256').update(`${sequence}/${copy}`).digest();
  for (let at = 0; at < length; at += block.length) {
    block.copy(out, at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

interface Seen {
  method: string;
  path: string;
  status: number;
  bytes: number;
  version?: string;
}

/** Every request to a path containing `part`, as it finished (method, status, response bytes). */
function watch(part: string): { seen: Seen[]; stop: () => void } {
  const seen: Seen[] = [];
  const onFinish = (message: unknown): void => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    const path = decodeURIComponent(request.path);
    if (!path.includes(part)) return;
    seen.push({
      method: request.method,
      path,
      status: response.statusCode ?? 0,
      bytes: Number(response.headers['content-length'] ?? 0),
      version: request.getHeader('x-ms-version') as string | undefined,
    });
  };
  diagnostics.subscribe('http.client.response.finish', onFinish);
  return { seen, stop: () => diagnostics.unsubscribe('http.client.response.finish', onFinish) };
}

describe('journal segments (real Azurite)', () => {
  const azurite = useAzurite();
  let journal: ContainerClient;
  let writer: JournalWriter;

  beforeAll(async () => {
    journal = BlobServiceClient.fromConnectionString(azurite().connectionString).getContainerClient(
      'journal',
    );
    await journal.createIfNotExists();
    writer = new JournalWriter(journal);
  });

  const ref = (vm: string, sequence: number, generation = 1) => ({
    resourceGroup: 'rg',
    vm,
    generation,
    sequence,
  });

  async function append(vm: string, sequences: number[], concurrency = 8): Promise<void> {
    const limit = pLimit(concurrency);
    await Promise.all(sequences.map((s) => limit(() => writer.append(ref(vm, s), body(s)))));
  }

  /** Everything the reader gives from `from` until it finds nothing; the reader stays open. */
  async function readFrom(
    vm: string,
    from: number,
    options?: JournalReaderOptions,
    lengths?: Map<number, number>,
  ): Promise<{ sequences: number[]; reader: JournalReader }> {
    const reader = new JournalReader(journal, { resourceGroup: 'rg', vm, generation: 1 }, from, options);
    const sequences: number[] = [];
    for (;;) {
      const got = await reader.next();
      if (!got) break;
      const sequence = reader.sequence - 1;
      expect(got.equals(body(sequence, lengths?.get(sequence))), `body of ${sequence}`).toBe(true);
      sequences.push(sequence);
    }
    return { sequences, reader };
  }

  const range = (from: number, to: number): number[] =>
    Array.from({ length: to - from + 1 }, (_, i) => from + i);

  /** A random order: appends land in any order within a segment. */
  function shuffled(values: number[]): number[] {
    const out = [...values];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  it('takes concurrent out-of-order appends to one new segment and reads them back in sequence order', async () => {
    const vm = uniqueName('vm');
    // 16 at a time to a segment that does not exist yet: every first append finds it missing.
    await append(vm, shuffled(range(1, 200)), 16);
    const { sequences, reader } = await readFrom(vm, 1);
    expect(sequences).toEqual(range(1, 200));
    expect(reader.sequence).toBe(201);
    reader.close();
    // One blob for all of them.
    const names: string[] = [];
    for await (const b of journal.listBlobsFlat({ prefix: `rg/${vm}/` })) names.push(b.name);
    expect(names).toEqual([`rg/${vm}/1/00000000000000000000.journal`]);
  });

  it('creates a segment only if it does not exist: a second createIfNotExists never truncates it', async () => {
    const vm = uniqueName('vm');
    await append(vm, [3, 4]);
    const blob = journal.getAppendBlobClient(segmentBlobName(ref(vm, 3)));
    const length = (await blob.getProperties()).contentLength;
    expect(length).toBe(2 * FRAME_HEADER_BYTES + body(3).length + body(4).length);
    expect((await blob.createIfNotExists()).succeeded).toBe(false);
    expect((await blob.getProperties()).contentLength).toBe(length);
    // The writer's own path: appends racing the creation of a segment lose nothing.
    const fresh = uniqueName('vm');
    await Promise.all(range(1, 12).map((s) => writer.append(ref(fresh, s), body(s))));
    await Promise.all(
      range(1, 12).map(() => journal.getAppendBlobClient(segmentBlobName(ref(fresh, 1))).createIfNotExists()),
    );
    expect((await readFrom(fresh, 1)).sequences).toEqual(range(1, 12));
  });

  it('reads the first copy of a delta journaled twice, and the copies do not disturb the order', async () => {
    const vm = uniqueName('vm');
    await append(vm, [1, 2, 3]);
    // A crash between journal and watermark: 2 and 3 journaled again (here with other bytes, to tell).
    await writer.append(ref(vm, 2), body(2, undefined, 1));
    await writer.append(ref(vm, 3), body(3, undefined, 1));
    await append(vm, [4, 5]);
    expect((await readFrom(vm, 1)).sequences).toEqual([1, 2, 3, 4, 5]);
    expect((await readFrom(vm, 3)).sequences).toEqual([3, 4, 5]);
    expect(
      (await journaledDeltas(journal, { resourceGroup: 'rg', vm }, { bodies: true })).map((d) => d.sequence),
    ).toEqual([1, 2, 3, 4, 5]);
  });

  it.each([
    ['4 MiB', 4 * MiB],
    ['8 MiB (the default)', undefined],
  ])('parses frames and headers that straddle a chunk boundary (chunks of %s)', async (_name, chunkBytes) => {
    const vm = uniqueName('vm');
    const chunk = chunkBytes ?? 8 * MiB;
    // Frame 1 ends 10 bytes before the first chunk's end, so frame 2's header straddles it; frame 3's
    // body spans the next boundary and more than a chunk; from 5 on, one chunk holds many frames.
    const lengths = new Map([
      [1, chunk - 10 - FRAME_HEADER_BYTES],
      [2, 1000],
      [3, chunk + 5000],
      [4, 5000],
      ...range(5, 40).map((s) => [s, 300 + s] as [number, number]),
    ]);
    for (const [s, length] of lengths) await writer.append(ref(vm, s), body(s, length));
    const reader = new JournalReader(journal, { resourceGroup: 'rg', vm, generation: 1 }, 1, { chunkBytes });
    for (const [s, length] of lengths) {
      expect((await reader.next())?.equals(body(s, length)), `delta ${s}`).toBe(true);
    }
    expect(await reader.next()).toBeUndefined();
    reader.close();
  });

  it('appends a 9 MiB delta as one block (a service version that allows 100 MiB blocks) and reads it back', async () => {
    const vm = uniqueName('vm');
    const requests = watch(`/rg/${vm}/`);
    try {
      await writer.append(ref(vm, 1), body(1, 9 * MiB));
    } finally {
      requests.stop();
    }
    const appends = requests.seen.filter(
      (r) => r.method === 'PUT' && r.status === 201 && r.path.includes('.journal'),
    );
    expect(appends.length).toBeGreaterThanOrEqual(1);
    // Append blocks over 4 MiB (to 100 MiB) need 2022-11-02 or later.
    for (const r of appends) expect(r.version! >= '2022-11-02', r.version).toBe(true);
    const { sequences } = await readFrom(vm, 1, undefined, new Map([[1, 9 * MiB]]));
    expect(sequences).toEqual([1]);
  });

  it('jumps over frames below the one wanted without downloading their bodies', async () => {
    const vm = uniqueName('vm');
    const lengths = new Map([
      [1, 20 * MiB],
      [2, 20 * MiB],
      [3, 1000],
    ]);
    for (const [s, length] of lengths) await writer.append(ref(vm, s), body(s, length));
    const requests = watch(`/rg/${vm}/`);
    let sequences: number[];
    try {
      sequences = (await readFrom(vm, 3, undefined, lengths)).sequences;
    } finally {
      requests.stop();
    }
    expect(sequences).toEqual([3]);
    const downloaded = requests.seen.filter((r) => r.method === 'GET').reduce((n, r) => n + r.bytes, 0);
    // One 8 MiB chunk per frame jumped over (the read that found its header), not its 20 MiB.
    expect(downloaded).toBeLessThanOrEqual(2 * 8 * MiB + 1024);
    // With small chunks, next to nothing of them.
    const small = watch(`/rg/${vm}/`);
    try {
      expect((await readFrom(vm, 3, { chunkBytes: 64 * 1024 }, lengths)).sequences).toEqual([3]);
    } finally {
      small.stop();
    }
    expect(small.seen.filter((r) => r.method === 'GET').reduce((n, r) => n + r.bytes, 0)).toBeLessThan(
      200 * 1024,
    );
  });

  it('while streaming, jumps over a large duplicate beyond the chunks already requested', async () => {
    const vm = uniqueName('vm');
    await append(vm, [1, 2]);
    // 1 journaled again, large: past the four 8 MiB chunks requested ahead after 2.
    await writer.append(ref(vm, 1), body(1, 40 * MiB, 1));
    await append(vm, [3, 4]);
    const requests = watch(`/rg/${vm}/`);
    try {
      expect((await readFrom(vm, 1)).sequences).toEqual([1, 2, 3, 4]);
    } finally {
      requests.stop();
    }
    const downloaded = requests.seen.filter((r) => r.method === 'GET').reduce((n, r) => n + r.bytes, 0);
    expect(downloaded).toBeLessThan(40 * MiB);
  });

  it('while streaming, passes over a duplicate that ends inside the chunks already requested', async () => {
    const vm = uniqueName('vm');
    await append(vm, [1]);
    // With 64 KiB chunks, 4 ahead: after 1 the chunks up to 256 KiB are requested; the duplicate
    // ends past the next one, whose bytes are then all passed over, and 2's header is in the one after.
    await writer.append(ref(vm, 1), body(1, 150 * 1024, 1));
    await append(vm, [2, 3]);
    const options = { chunkBytes: 64 * 1024, readAheadChunks: 4 };
    expect((await readFrom(vm, 1, options)).sequences).toEqual([1, 2, 3]);
    expect((await readFrom(vm, 2, options)).sequences).toEqual([2, 3]);
  });

  it('reads a frame it indexed but did not keep by range when its turn comes (byte budget)', async () => {
    const vm = uniqueName('vm');
    const lengths = new Map([4, 3, 2, 1].map((s) => [s, 100_000]));
    for (const s of [4, 3, 2, 1]) await writer.append(ref(vm, s), body(s, 100_000));
    const requests = watch(`/rg/${vm}/`);
    try {
      // No room to keep later deltas: 4, 3, 2 are passed over looking for 1, then read by range.
      expect((await readFrom(vm, 1, { budgetBytes: 1 }, lengths)).sequences).toEqual([1, 2, 3, 4]);
    } finally {
      requests.stop();
    }
    const ranged = requests.seen.filter((r) => r.method === 'GET' && r.bytes === 100_000);
    expect(ranged).toHaveLength(3);
    // With the default budget they are kept as they pass: no second read.
    expect((await readFrom(vm, 1, undefined, lengths)).sequences).toEqual([1, 2, 3, 4]);
  });

  it('reads across segment boundaries (250..260 spans two segments)', async () => {
    const vm = uniqueName('vm');
    await append(vm, shuffled(range(250, 260)));
    const { sequences } = await readFrom(vm, 250);
    expect(sequences).toEqual(range(250, 260));
    const names: string[] = [];
    for await (const b of journal.listBlobsFlat({ prefix: `rg/${vm}/` }))
      names.push(b.name.slice(`rg/${vm}/1/`.length));
    expect(names).toEqual(['00000000000000000000.journal', '00000000000000000256.journal']);
  });

  it('finds nothing in a segment that does not exist, and stops at a gap', async () => {
    const vm = uniqueName('vm');
    expect((await readFrom(vm, 1)).sequences).toEqual([]);
    await append(vm, [...range(1, 10), ...range(12, 15)]);
    const { sequences, reader } = await readFrom(vm, 1);
    expect(sequences).toEqual(range(1, 10));
    // The gap stays where it is…
    expect(await reader.next()).toBeUndefined();
    expect(reader.sequence).toBe(11);
    // …until the delta is journaled: the reader looks at the segment again.
    await writer.append(ref(vm, 11), body(11));
    for (const s of range(11, 15)) expect((await reader.next())?.equals(body(s)), `delta ${s}`).toBe(true);
    expect(await reader.next()).toBeUndefined();
    reader.close();
  });

  it('reads legacy per-delta blobs where the segment does not have the delta', async () => {
    const vm = uniqueName('vm');
    // Journaled before segments: 1..20 as blobs of their own; then 21..30 in the segment.
    await Promise.all(
      range(1, 20).map((s) => journal.getBlockBlobClient(deltaBlobName(ref(vm, s))).uploadData(body(s))),
    );
    await append(vm, range(21, 30));
    expect((await readFrom(vm, 1)).sequences).toEqual(range(1, 30));
    expect((await readFrom(vm, 15)).sequences).toEqual(range(15, 30));
    // Legacy alone, across a segment boundary.
    const old = uniqueName('vm');
    await Promise.all(
      range(250, 262).map((s) => journal.getBlockBlobClient(deltaBlobName(ref(old, s))).uploadData(body(s))),
    );
    const requests = watch(`/rg/${old}/`);
    try {
      expect((await readFrom(old, 250)).sequences).toEqual(range(250, 262));
    } finally {
      requests.stop();
    }
    // One GET per legacy delta (some fetched ahead), none twice.
    const legacyGets = requests.seen.filter((r) => r.method === 'GET' && r.path.endsWith('.delta'));
    expect(new Set(legacyGets.map((r) => r.path)).size).toBe(legacyGets.length);
  });

  it('refuses a segment with a corrupted frame header (JournalCorrupt)', async () => {
    const vm = uniqueName('vm');
    await append(vm, [1]);
    const frame = encodeFrame(2, body(2));
    frame[13]! ^= 0x40;
    await journal.getAppendBlobClient(segmentBlobName(ref(vm, 2))).appendBlock(frame, frame.length);
    const reader = new JournalReader(journal, { resourceGroup: 'rg', vm, generation: 1 }, 1);
    expect((await reader.next())?.equals(body(1))).toBe(true);
    const error = await caught(reader.next());
    reader.close();
    expect(error.code).toBe('JournalCorrupt');
    expect(error.kind).toBe('system');
    expect(error.message).toContain(`rg/${vm}/1/00000000000000000000.journal`);
  });

  it('refuses a frame in the wrong segment', async () => {
    const vm = uniqueName('vm');
    const frame = encodeFrame(300, body(300));
    const blob = journal.getAppendBlobClient(segmentBlobName(ref(vm, 1)));
    await blob.createIfNotExists();
    await blob.appendBlock(frame, frame.length);
    const reader = new JournalReader(journal, { resourceGroup: 'rg', vm, generation: 1 }, 1);
    expect((await caught(reader.next())).message).toMatch(/holds sequence 300, outside the segment/);
    reader.close();
  });
});
