/**
 * Reads a VM's journal in sequence order from a start sequence: next() gives the body of start,
 * start + 1, … and undefined at the first sequence it cannot find (the end of the journal, a gap,
 * or a pruned delta). Each segment is read front to back in ranged downloads (segmentCursor.ts):
 * frames of the sequences wanted next are kept as they pass (within a byte budget), older ones are
 * jumped over, and a frame indexed but not kept is read by range when its turn comes. A sequence
 * in neither its segment nor the budget is looked for once as a legacy per-delta blob, so history
 * journaled before segments still replays.
 */
import type { ContainerClient } from '@azure/storage-blob';

import { deltaBlobName } from '../delta';
import { readLegacyDelta } from './legacy';
import { SEGMENT_READ, SegmentCursor } from './segmentCursor';
import { type JournalVm, segmentBlobName, segmentStart } from './segments';

export interface JournalReaderOptions {
  /** Bytes per ranged download of a segment (default SEGMENT_READ's 8 MiB: segmentCursor.ts says why). */
  chunkBytes?: number;
  /** Downloads of a segment in flight while streaming (default SEGMENT_READ's 4). */
  readAheadChunks?: number;
  /** Legacy per-delta blobs fetched ahead once one is found (default 8, as replay read them before). */
  legacyReadAhead?: number;
  /** Bodies of later sequences kept as they pass, at most (default 64 MiB); the next one always is. */
  budgetBytes?: number;
}

const MiB = 1024 * 1024;

export class JournalReader {
  readonly #container: ContainerClient;
  readonly #vm: JournalVm;
  readonly #chunkBytes: number;
  readonly #readAheadChunks: number;
  readonly #legacyReadAhead: number;
  readonly #budget: number;
  #next: number;
  #cursor?: SegmentCursor;
  readonly #kept = new Map<number, Buffer>();
  #keptBytes = 0;
  readonly #legacy = new Map<number, Promise<Buffer | undefined>>();

  constructor(container: ContainerClient, vm: JournalVm, from: number, options: JournalReaderOptions = {}) {
    this.#container = container;
    this.#vm = { resourceGroup: vm.resourceGroup, vm: vm.vm, generation: vm.generation };
    this.#next = from;
    this.#chunkBytes = options.chunkBytes ?? SEGMENT_READ.chunkBytes;
    this.#readAheadChunks = options.readAheadChunks ?? SEGMENT_READ.readAheadChunks;
    this.#legacyReadAhead = options.legacyReadAhead ?? 8;
    this.#budget = options.budgetBytes ?? 64 * MiB;
  }

  /** The sequence the next call of next() reads. */
  get sequence(): number {
    return this.#next;
  }

  /** The body of the next sequence, or undefined when it is not in the journal (then it stays next). */
  async next(): Promise<Buffer | undefined> {
    const sequence = this.#next;
    const body = await this.#find(sequence);
    if (body) this.#next = sequence + 1;
    return body;
  }

  /** Stops the downloads in flight. */
  close(): void {
    this.#cursor?.close();
    this.#cursor = undefined;
    this.#kept.clear();
    this.#keptBytes = 0;
    this.#legacy.clear();
  }

  async #find(sequence: number): Promise<Buffer | undefined> {
    const kept = this.#kept.get(sequence);
    if (kept) {
      this.#kept.delete(sequence);
      this.#keptBytes -= kept.length;
      return kept;
    }
    const cursor = this.#cursorFor(sequence);
    let legacyTried = false;
    let lookedAgain = false;
    for (;;) {
      const ref = cursor.frames.get(sequence);
      if (ref) {
        const body = await cursor.readBody(ref);
        return body ?? (legacyTried ? undefined : await this.#legacyBody(sequence));
      }
      if (cursor.state === 'open') {
        const frame = await cursor.next(
          (h) =>
            h.sequence === sequence || (h.sequence > sequence && this.#keptBytes + h.length <= this.#budget),
        );
        if (!frame?.body) continue;
        if (frame.ref.sequence === sequence) return frame.body;
        // A view would keep its whole chunk alive as long as the body waits here.
        const kept = Buffer.from(frame.body);
        this.#kept.set(frame.ref.sequence, kept);
        this.#keptBytes += kept.length;
        continue;
      }
      if (!legacyTried) {
        legacyTried = true;
        const legacy = await this.#legacyBody(sequence);
        if (legacy) return legacy;
      }
      if (lookedAgain) return undefined;
      // The segment may have grown (or been created) since it was read to its end.
      lookedAgain = true;
      cursor.reopen();
    }
  }

  #cursorFor(sequence: number): SegmentCursor {
    const start = segmentStart(sequence);
    if (this.#cursor?.start === start) return this.#cursor;
    this.#cursor?.close();
    const blob = this.#container.getBlobClient(segmentBlobName({ ...this.#vm, sequence }));
    this.#cursor = new SegmentCursor(blob, start, {
      chunkBytes: this.#chunkBytes,
      readAheadChunks: this.#readAheadChunks,
    });
    return this.#cursor;
  }

  /** One GET of the legacy blob; after a hit, the next few are fetched ahead (legacy history is long). */
  async #legacyBody(sequence: number): Promise<Buffer | undefined> {
    const pending = this.#legacy.get(sequence) ?? this.#fetchLegacy(sequence);
    this.#legacy.delete(sequence);
    const body = await pending;
    if (!body) {
      this.#legacy.clear();
      return undefined;
    }
    for (let s = sequence + 1; s < sequence + this.#legacyReadAhead; s++) {
      if (!this.#legacy.has(s)) this.#legacy.set(s, this.#fetchLegacy(s));
    }
    return body;
  }

  #fetchLegacy(sequence: number): Promise<Buffer | undefined> {
    const body = readLegacyDelta(this.#container, deltaBlobName({ ...this.#vm, sequence }));
    body.catch(() => undefined); // fetched ahead: a failure counts only when its turn comes
    return body;
  }
}
