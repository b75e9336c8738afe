/**
 * Regression: an NBD write may be up to 32 MiB, but a delta entry carries at most 4 MiB (one Put
 * Page). The shipper used to fail encoding such a delta, dropping the write and leaving a gap in the
 * sequence numbers; it now splits the write into entries of at most MAX_ENTRY_BYTES.
 */
import { describe, expect, it } from 'vitest';

import { ChangeJournal } from '../../../agent/changeJournal';
import type { PutResult } from '../../../agent/deltaSink';
import { DeltaShipper } from '../../../agent/deltaShipper';
import { MemoryBlockDevice } from '../../../agent/memoryBlockDevice';
import { ReplicatedDisk } from '../../../agent/replicatedDisk';
import { MemorySequenceStore } from '../../../agent/sequenceStore';
import { ManualClock } from '../../../shared/clock';
import { decodeDelta, MAX_ENTRY_BYTES } from '../../../shared/delta';
import { RecordingLogger } from '../../../shared/logger';

describe('DeltaShipper with writes larger than a delta entry', () => {
  it('ships a 9 MiB write as entries of at most 4 MiB, with no gap in the numbers', async () => {
    const clock = new ManualClock();
    const logger = new RecordingLogger();
    const journal = new ChangeJournal({ clock, maxBufferBytes: 64 * 1024 * 1024 });
    const blobs = new Map<string, Buffer>();
    const sink = {
      putDelta: async (name: string, body: Buffer): Promise<PutResult> => {
        blobs.set(name, Buffer.from(body));
        return 'created';
      },
      putJson: async () => undefined,
    };
    const inner = new MemoryBlockDevice('d0', 16 * 1024 * 1024);
    const disk = new ReplicatedDisk(0, inner);
    await disk.setJournal(journal);
    const sequences = new MemorySequenceStore();
    const shipper = new DeltaShipper({
      resourceGroup: 'rg',
      vm: 'vm',
      generation: 1,
      journal,
      sink,
      sequences,
      clock,
      logger,
    });
    await shipper.start();
    const big = Buffer.alloc(9 * 1024 * 1024 + 512);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    await disk.write(512, big, { fua: false });
    await disk.write(0, Buffer.alloc(512, 7), { fua: false });
    await clock.advance(1000);
    await shipper.stop();

    expect(logger.records.filter((r) => r.level === 'error')).toEqual([]);
    const deltas = [...blobs.keys()].sort().map((name) => decodeDelta(blobs.get(name)!));
    expect(deltas.map((d) => d.sequence)).toEqual(deltas.map((_, i) => i + 1));
    const entries = deltas.flatMap((d) => d.entries);
    expect(entries.every((e) => 'data' in e && e.data.length <= MAX_ENTRY_BYTES)).toBe(true);
    const replica = Buffer.alloc(inner.size);
    for (const e of entries) if ('data' in e) e.data.copy(replica, e.offset);
    expect(replica.equals(inner.snapshot())).toBe(true);
    expect(sequences.saved.get('rg/vm')).toMatchObject({ clean: true });
    expect(journal.heldBytes).toBe(0);
  });
});
