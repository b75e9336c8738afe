import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ChangeJournal, type JournalEntry } from '../../../agent/changeJournal';
import { MemoryBlockDevice } from '../../../agent/memoryBlockDevice';
import { ReplicatedDisk } from '../../../agent/replicatedDisk';
import { ManualClock } from '../../../shared/clock';

const SIZE = 16 * 1024;

type Op =
  | { kind: 'write'; disk: number; offset: number; length: number; fill: number; awaited: boolean }
  | { kind: 'zero' | 'trim'; disk: number; offset: number; length: number; awaited: boolean };

const opArb: fc.Arbitrary<Op> = fc
  .record({
    kind: fc.constantFrom('write', 'write', 'write', 'zero', 'trim'),
    disk: fc.integer({ min: 0, max: 1 }),
    offset: fc.integer({ min: 0, max: SIZE - 1 }),
    length: fc.integer({ min: 1, max: 3000 }),
    fill: fc.integer({ min: 1, max: 255 }),
    awaited: fc.boolean(),
  })
  .map((o) => ({ ...o, length: Math.min(o.length, SIZE - o.offset) }) as Op);

function replay(disks: Buffer[], entries: JournalEntry[]): void {
  for (const e of entries) {
    const disk = disks[e.disk]!;
    if (e.data) e.data.copy(disk, e.offset);
    else disk.fill(0, e.offset, e.offset + e.length);
  }
}

describe('ReplicatedDisk + ChangeJournal', () => {
  it('replaying the journal over the initial copy reproduces every disk byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 40 }),
        fc.uint8Array({ minLength: 512, maxLength: 512 }),
        async (ops, seed) => {
          const inner = [new MemoryBlockDevice('d0', SIZE), new MemoryBlockDevice('d1', SIZE)];
          for (const d of inner)
            for (let o = 0; o < SIZE; o += 512) await d.write(o, Buffer.from(seed), { fua: false });
          const initial = await Promise.all(inner.map((d) => d.read(0, SIZE)));
          const journal = new ChangeJournal({ clock: new ManualClock(0), maxBufferBytes: 1 << 30 });
          const disks = inner.map((d, i) => new ReplicatedDisk(i, d));
          for (const d of disks) await d.setJournal(journal);

          const pending: Promise<void>[] = [];
          for (const op of ops) {
            const d = disks[op.disk]!;
            const p =
              op.kind === 'write'
                ? d.write(op.offset, Buffer.alloc(op.length, op.fill), { fua: false })
                : op.kind === 'zero'
                  ? d.writeZeroes(op.offset, op.length, { fua: false, mayTrim: false })
                  : d.trim(op.offset, op.length);
            if (op.awaited) await p;
            else pending.push(p);
          }
          await Promise.all(pending);

          const shipped: JournalEntry[] = [];
          for (let batch = journal.take(4096); batch; batch = journal.take(4096)) {
            shipped.push(...batch.entries);
            journal.release(batch);
          }
          for (const e of shipped) {
            expect(e.offset % 512).toBe(0);
            expect(e.length % 512).toBe(0);
          }
          const replica = initial.map((b) => Buffer.from(b));
          replay(replica, shipped);
          for (let i = 0; i < 2; i++) expect(replica[i]!.equals(await inner[i]!.read(0, SIZE))).toBe(true);
          expect(journal.heldBytes).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('holds writers back when the buffer is full and lets them in as deltas ship', async () => {
    const journal = new ChangeJournal({ clock: new ManualClock(0), maxBufferBytes: 4096 });
    const disk = new ReplicatedDisk(0, new MemoryBlockDevice('d0', SIZE));
    await disk.setJournal(journal);
    await disk.write(0, Buffer.alloc(4096, 1), { fua: false });
    let done = false;
    const blocked = disk.write(4096, Buffer.alloc(512, 2), { fua: false }).then(() => (done = true));
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    expect(journal.waitingWriters).toBe(1);
    const batch = journal.take(1 << 20)!;
    expect(batch.entries).toHaveLength(1);
    journal.release(batch);
    await blocked;
    expect(journal.queuedEntries).toBe(1);
  });

  it('ends a batch exactly at an app-consistent bookmark', async () => {
    const journal = new ChangeJournal({ clock: new ManualClock(0), maxBufferBytes: 1 << 20 });
    const disk = new ReplicatedDisk(0, new MemoryBlockDevice('d0', SIZE));
    await disk.setJournal(journal);
    await disk.write(0, Buffer.alloc(512, 1), { fua: false });
    await disk.write(512, Buffer.alloc(512, 1), { fua: false });
    journal.bookmark();
    await disk.write(1024, Buffer.alloc(512, 1), { fua: false });
    const first = journal.take(1 << 20)!;
    expect(first).toMatchObject({ appConsistent: true, bytes: 1024 });
    journal.release(first);
    const second = journal.take(1 << 20)!;
    expect(second).toMatchObject({ appConsistent: false, bytes: 512 });
  });

  it('journals a huge trim as zero entries, not data', async () => {
    const big = 4 * 1024 * 1024;
    const journal = new ChangeJournal({ clock: new ManualClock(0), maxBufferBytes: 64 * 1024 });
    const disk = new ReplicatedDisk(0, new MemoryBlockDevice('d0', big));
    await disk.setJournal(journal);
    await disk.trim(100, big - 200);
    const batch = journal.take(1 << 30)!;
    expect(batch.entries.filter((e) => !e.data).map((e) => e.length)).toEqual([big - 1024]);
    expect(batch.entries.filter((e) => e.data)).toHaveLength(2);
  });
});
