/**
 * Coalescing a delta's writes into as few page-blob calls as possible. Entries are laid over each
 * other in write order (a later write wins where they overlap), then touching data extents are
 * joined into runs of at most 4 MiB (one Put Page each) and touching zero extents into one Clear
 * Pages each. The resulting operations never overlap, so they can be sent in any order, in parallel.
 *
 * The overlay is a sweep over each disk's entry boundaries with a heap of the entries covering the
 * current position, newest on top: O(n log n) in the number of entries, so a backlog batch of 16
 * deltas of 4 KiB writes (32 768 entries) coalesces in milliseconds.
 */
import { type DeltaEntry, isZeroEntry } from '../delta';

/** Put Page takes at most 4 MiB. */
export const MAX_PUT_PAGE_BYTES = 4 * 1024 * 1024;

export type PageOp =
  | { kind: 'put'; disk: number; offset: number; data: Buffer }
  | { kind: 'clear'; disk: number; offset: number; length: number };

/** The visible part [start, end) of one entry after the later ones are laid over it. */
interface Piece {
  start: number;
  end: number;
  /** Index of the entry in write order. */
  entry: number;
}

/** A max-heap of entry indices (a later write has a higher index and wins). */
class NewestFirst {
  readonly #heap: number[] = [];

  get top(): number | undefined {
    return this.#heap[0];
  }

  push(value: number): void {
    const h = this.#heap;
    let i = h.length;
    h.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]! >= value) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = value;
  }

  pop(): void {
    const h = this.#heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= h.length) break;
      const child = left + 1 < h.length && h[left + 1]! > h[left]! ? left + 1 : left;
      if (h[child]! <= last) break;
      h[i] = h[child]!;
      i = child;
    }
    h[i] = last;
  }
}

/** The visible pieces of one disk's entries, in offset order; touching pieces of one entry are one. */
function visiblePieces(entries: readonly DeltaEntry[], indices: readonly number[]): Piece[] {
  const start = (i: number): number => entries[i]!.offset;
  const end = (i: number): number => {
    const e = entries[i]!;
    return e.offset + (isZeroEntry(e) ? e.zeroLength : e.data.length);
  };
  const byStart = [...indices].sort((a, b) => start(a) - start(b) || a - b);
  const bounds = new Float64Array(indices.length * 2);
  indices.forEach((i, k) => {
    bounds[2 * k] = start(i);
    bounds[2 * k + 1] = end(i);
  });
  bounds.sort();
  const pieces: Piece[] = [];
  const active = new NewestFirst();
  let next = 0;
  for (let b = 0; b < bounds.length - 1; b++) {
    const at = bounds[b]!;
    const to = bounds[b + 1]!;
    if (to === at) continue;
    while (next < byStart.length && start(byStart[next]!) <= at) active.push(byStart[next++]!);
    // Entries that ended at or before here are dropped lazily, when they come to the top.
    while (active.top !== undefined && end(active.top) <= at) active.pop();
    const top = active.top;
    if (top === undefined) continue;
    const prev = pieces[pieces.length - 1];
    if (prev && prev.entry === top && prev.end === at) prev.end = to;
    else pieces.push({ start: at, end: to, entry: top });
  }
  return pieces;
}

export function coalesce(entries: readonly DeltaEntry[]): PageOp[] {
  const perDisk = new Map<number, number[]>();
  entries.forEach((entry, i) => {
    const list = perDisk.get(entry.disk);
    if (list) list.push(i);
    else perDisk.set(entry.disk, [i]);
  });
  const ops: PageOp[] = [];
  for (const [disk, indices] of [...perDisk.entries()].sort((a, b) => a[0] - b[0])) {
    const pieces = visiblePieces(entries, indices);
    const dataOf = (p: Piece): Buffer | undefined => {
      const e = entries[p.entry]!;
      return isZeroEntry(e) ? undefined : e.data.subarray(p.start - e.offset, p.end - e.offset);
    };
    let i = 0;
    while (i < pieces.length) {
      const first = pieces[i]!;
      const firstData = dataOf(first);
      if (!firstData) {
        let end = first.end;
        while (i + 1 < pieces.length && !dataOf(pieces[i + 1]!) && pieces[i + 1]!.start === end)
          end = pieces[++i]!.end;
        ops.push({ kind: 'clear', disk, offset: first.start, length: end - first.start });
        i++;
        continue;
      }
      const run: Buffer[] = [firstData];
      let end = first.end;
      while (
        i + 1 < pieces.length &&
        pieces[i + 1]!.start === end &&
        pieces[i + 1]!.end - first.start <= MAX_PUT_PAGE_BYTES
      ) {
        const data = dataOf(pieces[i + 1]!);
        if (!data) break;
        run.push(data);
        end = pieces[++i]!.end;
      }
      // A piece longer than a Put Page (never from one entry, but kept safe) is split.
      const data = run.length === 1 ? run[0]! : Buffer.concat(run, end - first.start);
      for (let at = 0; at < data.length; at += MAX_PUT_PAGE_BYTES) {
        ops.push({
          kind: 'put',
          disk,
          offset: first.start + at,
          data: data.subarray(at, at + MAX_PUT_PAGE_BYTES),
        });
      }
      i++;
    }
  }
  return ops;
}
