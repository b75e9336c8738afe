/**
 * The VM's write journal between the disks and the cache: every write, in the one order the VM's
 * disks saw them, waiting to be shipped as deltas. Bounded: when shipping falls behind, writers wait
 * in reserve() (back-pressure) instead of memory growing or writes being dropped.
 */
import type { Clock } from '../shared/clock';
import { TidemarkError } from '../shared/errors';

export interface JournalEntry {
  disk: number;
  offset: number;
  /** Bytes covered; a multiple of 512. */
  length: number;
  /** Whole pages; absent when the range was zeroed or trimmed (reads back as zeroes). */
  data?: Buffer;
  /** When the write reached the disk (clock ms). */
  time: number;
}

/** Memory an entry holds: its data, or a nominal few bytes for a zeroed range. */
export function entryBytes(entry: { data?: Buffer }): number {
  return entry.data ? entry.data.length : ZERO_ENTRY_BYTES;
}

export const ZERO_ENTRY_BYTES = 32;

export interface JournalBatch {
  entries: JournalEntry[];
  bytes: number;
  firstWriteTime: number;
  lastWriteTime: number;
  /** The batch ends at an app-consistent bookmark. */
  appConsistent: boolean;
}

export interface ChangeJournalOptions {
  clock: Clock;
  /** Most bytes held before writers have to wait. */
  maxBufferBytes: number;
}

export class ChangeJournal {
  readonly #clock: Clock;
  readonly #maxBufferBytes: number;
  #entries: JournalEntry[] = [];
  /** Bookmarks: entry counts (from the queue head) after which the VM was app-consistent. */
  #bookmarks: number[] = [];
  /** Bytes reserved by writers plus bytes queued or being shipped. */
  #held = 0;
  #queuedBytes = 0;
  #waiters: { bytes: number; resolve: () => void }[] = [];
  #onData?: () => void;

  constructor(options: ChangeJournalOptions) {
    if (!Number.isSafeInteger(options.maxBufferBytes) || options.maxBufferBytes <= 0) {
      throw new TidemarkError(
        'InvalidConfig',
        `maxBufferBytes must be a positive integer (got ${options.maxBufferBytes}).`,
      );
    }
    this.#clock = options.clock;
    this.#maxBufferBytes = options.maxBufferBytes;
  }

  /** Bytes waiting to be shipped. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  get queuedEntries(): number {
    return this.#entries.length;
  }

  /** Bytes held in memory: queued, in flight or reserved by writers. */
  get heldBytes(): number {
    return this.#held;
  }

  /** Writers waiting for room. */
  get waitingWriters(): number {
    return this.#waiters.length;
  }

  /** Called whenever entries are appended (the shipper uses it to seal full deltas early). */
  onData(listener: () => void): void {
    this.#onData = listener;
  }

  /**
   * Waits until `bytes` more fit in the buffer, then holds them for the caller's append().
   * A write larger than the whole buffer is let through alone, once everything before it shipped.
   */
  async reserve(bytes: number): Promise<void> {
    if (this.#fits(bytes) && this.#waiters.length === 0) {
      this.#held += bytes;
      return;
    }
    await new Promise<void>((resolve) => this.#waiters.push({ bytes, resolve }));
  }

  /** Returns a reservation that was not used (the disk write failed). */
  unreserve(bytes: number): void {
    this.#held -= bytes;
    this.#wake();
  }

  /** Records a write that reached the disk; its bytes (entryBytes) must have been reserved. */
  append(disk: number, offset: number, data: Buffer): void {
    this.#push({ disk, offset, length: data.length, data, time: this.#clock.now() });
  }

  /** Records that a page-aligned range was zeroed or trimmed; reserve ZERO_ENTRY_BYTES first. */
  appendZero(disk: number, offset: number, length: number): void {
    this.#push({ disk, offset, length, time: this.#clock.now() });
  }

  #push(entry: JournalEntry): void {
    this.#entries.push(entry);
    this.#queuedBytes += entryBytes(entry);
    this.#onData?.();
  }

  /** Marks the current end of the journal as an app-consistent point. */
  bookmark(): void {
    if (this.#bookmarks.at(-1) !== this.#entries.length) this.#bookmarks.push(this.#entries.length);
    this.#onData?.();
  }

  /** True when there is something to seal: entries, or a bookmark with none before it. */
  get hasPending(): boolean {
    return this.#entries.length > 0 || this.#bookmarks.length > 0;
  }

  /**
   * Takes the oldest entries, up to `maxBytes` (at least one entry), stopping at the first
   * bookmark so an app-consistent delta ends exactly there. The bytes stay held until release().
   */
  take(maxBytes: number): JournalBatch | undefined {
    if (!this.hasPending) return undefined;
    const limit = this.#bookmarks[0] ?? this.#entries.length;
    let count = 0;
    let bytes = 0;
    while (count < limit) {
      const size = entryBytes(this.#entries[count]!);
      if (count > 0 && bytes + size > maxBytes) break;
      bytes += size;
      count++;
    }
    const entries = this.#entries.splice(0, count);
    this.#queuedBytes -= bytes;
    let appConsistent = false;
    if (this.#bookmarks[0] === count) {
      appConsistent = true;
      this.#bookmarks.shift();
    }
    this.#bookmarks = this.#bookmarks.map((b) => b - count);
    const now = this.#clock.now();
    return {
      entries,
      bytes,
      firstWriteTime: entries[0]?.time ?? now,
      lastWriteTime: entries.at(-1)?.time ?? now,
      appConsistent,
    };
  }

  /** Frees a shipped batch's bytes, letting waiting writers in. */
  release(batch: JournalBatch): void {
    this.#held -= batch.bytes;
    this.#wake();
  }

  /** Puts a batch that could not be shipped back at the head, in order. */
  putBack(batch: JournalBatch): void {
    this.#entries.unshift(...batch.entries);
    this.#queuedBytes += batch.bytes;
    this.#bookmarks = this.#bookmarks.map((b) => b + batch.entries.length);
    if (batch.appConsistent) this.#bookmarks.unshift(batch.entries.length);
  }

  #fits(bytes: number): boolean {
    return this.#held + bytes <= this.#maxBufferBytes || this.#held === 0;
  }

  #wake(): void {
    while (this.#waiters.length > 0 && this.#fits(this.#waiters[0]!.bytes)) {
      const waiter = this.#waiters.shift()!;
      this.#held += waiter.bytes;
      waiter.resolve();
    }
  }
}
