/**
 * A VM disk whose writes are journaled once replication is on. Each write is widened to whole pages,
 * written to the disk, and appended to the VM's journal before it is acknowledged; operations on one
 * disk run one at a time, so the journal order is the order the disk applied them, and a write
 * acknowledged before another was issued is always journaled first (crash consistency across disks).
 */
import { alignDown, alignUp, alignWrite } from './alignment';
import type { BlockDevice } from './blockDevice';
import { type ChangeJournal, ZERO_ENTRY_BYTES } from './changeJournal';

/** A zeroed range is journaled as zero entries of at most this length (the delta format's limit). */
export const MAX_ZERO_ENTRY = 1024 * 1024 * 1024;

export class ReplicatedDisk implements BlockDevice {
  #tail: Promise<unknown> = Promise.resolve();
  #journal?: ChangeJournal;

  constructor(
    readonly index: number,
    private readonly inner: BlockDevice,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get size(): number {
    return this.inner.size;
  }

  /** Starts (or, with undefined, stops) journaling writes. Takes effect between operations. */
  setJournal(journal: ChangeJournal | undefined): Promise<void> {
    return this.#serial(async () => {
      this.#journal = journal;
    });
  }

  get journaling(): boolean {
    return this.#journal !== undefined;
  }

  read(offset: number, length: number): Promise<Buffer> {
    return this.#serial(() => this.inner.read(offset, length));
  }

  write(offset: number, data: Buffer, options: { fua: boolean }): Promise<void> {
    return this.#serial(async () => {
      const journal = this.#journal;
      if (!journal) return this.inner.write(offset, data, options);
      const aligned = await alignWrite(offset, data, (o, l) => this.inner.read(o, l));
      await this.#journaled(journal, aligned.offset, aligned.data, () =>
        this.inner.write(aligned.offset, aligned.data, options),
      );
    });
  }

  writeZeroes(offset: number, length: number, options: { fua: boolean; mayTrim: boolean }): Promise<void> {
    return this.#serial(() => this.#zero(offset, length, (o, l) => this.inner.writeZeroes(o, l, options)));
  }

  trim(offset: number, length: number): Promise<void> {
    return this.#serial(() => this.#zero(offset, length, (o, l) => this.inner.trim(o, l)));
  }

  flush(): Promise<void> {
    return this.#serial(() => this.inner.flush());
  }

  async #zero(offset: number, length: number, apply: (o: number, l: number) => Promise<void>): Promise<void> {
    const journal = this.#journal;
    if (!journal || length === 0) return apply(offset, length);
    const innerStart = alignUp(offset);
    const innerEnd = alignDown(offset + length);
    if (innerEnd <= innerStart) {
      // Within one or two partial pages: journal the merged pages as data.
      const merged = await alignWrite(offset, Buffer.alloc(length), (o, l) => this.inner.read(o, l));
      return this.#journaled(journal, merged.offset, merged.data, () => apply(offset, length));
    }
    if (innerStart > offset) {
      const head = await alignWrite(offset, Buffer.alloc(innerStart - offset), (o, l) =>
        this.inner.read(o, l),
      );
      await this.#journaled(journal, head.offset, head.data, () => apply(offset, innerStart - offset));
    }
    for (let at = innerStart; at < innerEnd; at += MAX_ZERO_ENTRY) {
      const pieceLength = Math.min(MAX_ZERO_ENTRY, innerEnd - at);
      await journal.reserve(ZERO_ENTRY_BYTES);
      try {
        await apply(at, pieceLength);
      } catch (err) {
        journal.unreserve(ZERO_ENTRY_BYTES);
        throw err;
      }
      journal.appendZero(this.index, at, pieceLength);
    }
    if (offset + length > innerEnd) {
      const tail = await alignWrite(innerEnd, Buffer.alloc(offset + length - innerEnd), (o, l) =>
        this.inner.read(o, l),
      );
      await this.#journaled(journal, tail.offset, tail.data, () =>
        apply(innerEnd, offset + length - innerEnd),
      );
    }
  }

  async #journaled(
    journal: ChangeJournal,
    offset: number,
    data: Buffer,
    write: () => Promise<void>,
  ): Promise<void> {
    await journal.reserve(data.length);
    try {
      await write();
    } catch (err) {
      journal.unreserve(data.length);
      throw err;
    }
    journal.append(this.index, offset, data);
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(op, op);
    this.#tail = run.catch(() => undefined);
    return run;
  }
}
