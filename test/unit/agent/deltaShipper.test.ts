import { describe, expect, it } from 'vitest';

import { ChangeJournal } from '../../../agent/changeJournal';
import { CacheCredentialsError, type DeltaSink, type PutResult } from '../../../agent/deltaSink';
import { DeltaShipper } from '../../../agent/deltaShipper';
import { MemoryBlockDevice } from '../../../agent/memoryBlockDevice';
import { ReplicatedDisk } from '../../../agent/replicatedDisk';
import { MemorySequenceStore } from '../../../agent/sequenceStore';
import { ManualClock } from '../../../shared/clock';
import { decodeDelta, type Delta, parseDeltaBlobName } from '../../../shared/delta';
import { RecordingLogger } from '../../../shared/logger';

class MemorySink implements DeltaSink {
  readonly blobs = new Map<string, Buffer>();
  failing = false;
  attempts = 0;
  /** Credentials issued up to this sequence number (a window's end). */
  issuedThrough = Infinity;

  async putDelta(name: string, body: Buffer): Promise<PutResult> {
    this.attempts++;
    if (this.failing) throw new Error('connect ECONNREFUSED 127.0.0.1:10000');
    const { sequence } = parseDeltaBlobName(name);
    if (sequence > this.issuedThrough) {
      throw new CacheCredentialsError('pending', `No cache credential for delta ${sequence} yet`, {
        sequence,
      });
    }
    if (this.blobs.has(name)) return 'exists';
    this.blobs.set(name, Buffer.from(body));
    return 'created';
  }

  async putJson(): Promise<void> {}

  deltas(): Delta[] {
    return [...this.blobs.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, body]) => {
        const d = decodeDelta(body);
        expect(parseDeltaBlobName(name).sequence).toBe(d.sequence);
        return d;
      });
  }
}

async function setup(
  options: {
    maxBufferBytes?: number;
    maxDeltaBytes?: number;
    store?: MemorySequenceStore;
    onCredentialsNeeded?: (sequence: number) => void;
  } = {},
) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const logger = new RecordingLogger();
  const journal = new ChangeJournal({ clock, maxBufferBytes: options.maxBufferBytes ?? 1 << 24 });
  const sink = new MemorySink();
  const store = options.store ?? new MemorySequenceStore();
  const disk = new ReplicatedDisk(0, new MemoryBlockDevice('d0', 1 << 20));
  await disk.setJournal(journal);
  const shipper = new DeltaShipper({
    resourceGroup: 'rg',
    vm: 'vm1',
    generation: 3,
    journal,
    sink,
    sequences: store,
    clock,
    logger,
    maxDeltaBytes: options.maxDeltaBytes,
    ...(options.onCredentialsNeeded ? { onCredentialsNeeded: options.onCredentialsNeeded } : {}),
  });
  await shipper.start();
  return { clock, logger, journal, sink, store, disk, shipper };
}

describe('DeltaShipper', () => {
  it('ships writes every flush interval, in order, and nothing for an empty interval', async () => {
    const { clock, sink, disk, shipper } = await setup();
    await disk.write(0, Buffer.alloc(512, 1), { fua: false });
    await disk.write(512, Buffer.alloc(1024, 2), { fua: false });
    await clock.advance(999);
    expect(sink.blobs.size).toBe(0);
    await clock.advance(1);
    await clock.advance(0);
    expect(sink.deltas().map((d) => [d.sequence, d.entries.length])).toEqual([[1, 2]]);
    await clock.advance(5_000);
    expect(sink.blobs.size).toBe(1);
    await disk.write(4096, Buffer.alloc(512, 3), { fua: false });
    await clock.advance(1_000);
    const deltas = sink.deltas();
    expect(deltas.map((d) => d.sequence)).toEqual([1, 2]);
    expect(deltas.every((d) => d.generation === 3 && d.vmId === 'rg/vm1')).toBe(true);
    await shipper.stop();
  });

  it('sends a heartbeat after 30 s without uploads', async () => {
    const { clock, sink, shipper } = await setup();
    await clock.advance(29_999);
    expect(sink.blobs.size).toBe(0);
    await clock.advance(1);
    const [hb] = sink.deltas();
    expect(hb).toMatchObject({ sequence: 1, heartbeat: true, entries: [] });
    expect(hb!.lastWriteTime).toBe(clock.now());
    await shipper.stop();
  });

  it('seals a delta early once maxDeltaBytes are waiting', async () => {
    const { clock, sink, disk, shipper } = await setup({ maxDeltaBytes: 4096 });
    for (let i = 0; i < 8; i++) await disk.write(i * 1024, Buffer.alloc(1024, i), { fua: false });
    await clock.advance(0);
    expect(sink.blobs.size).toBeGreaterThanOrEqual(1);
    await shipper.stop();
    const deltas = sink.deltas();
    expect(deltas.flatMap((d) => d.entries).length).toBe(8);
    expect(
      deltas.every((d) => d.entries.reduce((n, e) => n + ('data' in e ? e.data.length : 0), 0) <= 4096),
    ).toBe(true);
  });

  it('ships one delta per interval while writes keep coming, not one per upload round trip', async () => {
    const { clock, sink, disk, shipper } = await setup();
    // Every upload takes 300 ms; a write lands every 100 ms.
    const put = sink.putDelta.bind(sink);
    const sealedAt: number[] = [];
    sink.putDelta = async (name, body) => {
      sealedAt.push(clock.now());
      await clock.sleep(300);
      return put(name, body);
    };
    for (let i = 0; i < 50; i++) {
      await disk.write((i % 64) * 4096, Buffer.alloc(512, i + 1), { fua: false });
      await clock.advance(100);
    }
    const stopped = shipper.stop();
    await clock.advance(1000);
    await stopped;
    const deltas = sink.deltas();
    expect(deltas.flatMap((d) => d.entries)).toHaveLength(50);
    // 5 s of writes: a delta a second (and what stop ships), each holding about ten writes.
    expect(deltas.length).toBeLessThanOrEqual(6);
    for (let i = 1; i < sealedAt.length - 1; i++) {
      expect(sealedAt[i]! - sealedAt[i - 1]!).toBeGreaterThanOrEqual(1000);
    }
  });

  it('holds writes back while the cache is unreachable and loses none when it returns', async () => {
    const { clock, sink, disk, journal, shipper, logger } = await setup({ maxBufferBytes: 8192 });
    sink.failing = true;
    for (let i = 0; i < 8; i++) await disk.write(i * 1024, Buffer.alloc(1024, i + 1), { fua: false });
    let lateDone = false;
    const late = disk.write(65536, Buffer.alloc(1024, 99), { fua: false }).then(() => (lateDone = true));
    await clock.advance(1_000);
    expect(shipper.status().health).toBe('Degraded');
    expect(journal.waitingWriters).toBe(1);
    await clock.advance(61_000);
    expect(shipper.status().health).toBe('Unreachable');
    await clock.advance(1_000);
    expect(lateDone).toBe(false);
    expect(logger.records.some((r) => r.level === 'error' && /Cannot upload deltas/.test(r.msg))).toBe(true);
    sink.failing = false;
    await clock.advance(31_000);
    await late;
    await shipper.stop();
    expect(shipper.status().health).toBe('Healthy');
    const entries = sink.deltas().flatMap((d) => d.entries);
    expect(entries.map((e) => e.offset)).toEqual([0, 1024, 2048, 3072, 4096, 5120, 6144, 7168, 65536]);
    expect(sink.deltas().map((d) => d.sequence)).toEqual(sink.deltas().map((_, i) => i + 1));
  });

  it('never reuses or skips a number across restarts, and asks for a resync after a crash', async () => {
    const store = new MemorySequenceStore();
    const first = await setup({ store });
    await first.disk.write(0, Buffer.alloc(512, 1), { fua: false });
    await first.clock.advance(1_000);
    await first.shipper.stop();
    expect(store.saved.get('rg/vm1')).toMatchObject({ nextSequence: 2, confirmedThrough: 1, clean: true });

    // Crash: a number reserved, its delta never uploaded, the process gone.
    store.saved.set('rg/vm1', { ...store.saved.get('rg/vm1')!, nextSequence: 3, clean: false });
    const second = await setup({ store });
    expect(second.shipper.status().resyncReason).toMatch(/stopped without shipping/);
    await second.disk.write(0, Buffer.alloc(512, 2), { fua: false });
    await second.clock.advance(1_000);
    await second.shipper.stop();
    const deltas = second.sink.deltas();
    expect(deltas.map((d) => [d.sequence, d.heartbeat])).toEqual([
      [2, true],
      [3, false],
    ]);
  });

  it('waits at the end of its credentials window, asks for more, and goes on at once when they come', async () => {
    const asked: number[] = [];
    const { clock, sink, disk, journal, shipper, logger } = await setup({
      maxBufferBytes: 4096,
      onCredentialsNeeded: (seq) => asked.push(seq),
    });
    sink.issuedThrough = 2;
    for (let i = 0; i < 4; i++) {
      await disk.write(i * 1024, Buffer.alloc(1024, i + 1), { fua: false });
      await clock.advance(1_000);
    }
    // 1 and 2 shipped; 3 waits for its credential; the journal fills and writers wait.
    expect(sink.deltas().map((d) => d.sequence)).toEqual([1, 2]);
    expect(shipper.waitingForCredentials).toBe(true);
    expect(asked.length).toBeGreaterThanOrEqual(1);
    expect(new Set(asked)).toEqual(new Set([3]));
    let lateDone = false;
    const late = disk.write(65536, Buffer.alloc(4096, 9), { fua: false }).then(() => (lateDone = true));
    await clock.advance(60_000);
    expect(lateDone).toBe(false);
    expect(journal.waitingWriters).toBe(1);
    const waits = logger.records.filter((r) => /Waiting for cache credentials/.test(r.msg));
    expect(waits.map((r) => r.level)).toEqual(['warn']);

    // New credentials: the upload in back-off (up to 30 s by now) goes at once.
    sink.issuedThrough = 100;
    shipper.retryNow();
    await clock.advance(0);
    await clock.advance(1_000);
    await late;
    expect(shipper.waitingForCredentials).toBe(false);
    expect(logger.records.some((r) => /Cache credentials arrived/.test(r.msg))).toBe(true);
    await shipper.stop();
    const deltas = sink.deltas();
    expect(deltas.map((d) => d.sequence)).toEqual(deltas.map((_, i) => i + 1));
    expect(deltas.flatMap((d) => d.entries).map((e) => e.offset)).toEqual([0, 1024, 2048, 3072, 65536]);
    expect(shipper.status().health).toBe('Healthy');
  });

  it('gives up waiting for credentials when stopped: no number confirmed that was not shipped', async () => {
    const store = new MemorySequenceStore();
    const { clock, sink, disk, shipper } = await setup({ store });
    sink.issuedThrough = 0;
    await disk.write(0, Buffer.alloc(512, 1), { fua: false });
    await clock.advance(1_000);
    expect(shipper.waitingForCredentials).toBe(true);
    const stopped = shipper.stop({ timeoutMs: 5_000 });
    await clock.advance(5_000);
    await stopped;
    expect(shipper.waitingForCredentials).toBe(false);
    expect(sink.blobs.size).toBe(0);
    expect(store.saved.get('rg/vm1')).toMatchObject({ confirmedThrough: 0, clean: false });
  });

  it('retries at once when credentials come while an attempt is under way', async () => {
    const { clock, sink, disk, shipper } = await setup();
    sink.issuedThrough = 0;
    await disk.write(0, Buffer.alloc(512, 1), { fua: false });
    await clock.advance(1_000);
    // Back-off has grown; new credentials arrive during the next attempt, which still fails.
    await clock.advance(7_000);
    expect(shipper.waitingForCredentials).toBe(true);
    const put = sink.putDelta.bind(sink);
    let failedAt = 0;
    let createdAt = 0;
    sink.putDelta = async (): Promise<PutResult> => {
      sink.putDelta = async (name: string, body: Buffer): Promise<PutResult> => {
        createdAt = clock.now();
        return put(name, body);
      };
      failedAt = clock.now();
      sink.issuedThrough = 100;
      shipper.retryNow();
      throw new CacheCredentialsError('pending', 'the window ended before this attempt began');
    };
    await clock.advance(30_000);
    await clock.advance(0);
    expect(failedAt).toBeGreaterThan(0);
    // No back-off after that attempt: the next one went at the same instant.
    expect(createdAt).toBe(failedAt);
    expect(sink.deltas().map((d) => d.sequence)).toEqual([1]);
    expect(shipper.waitingForCredentials).toBe(false);
    await shipper.stop();
  });
});
