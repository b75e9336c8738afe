/**
 * Coalescing a delta's writes into as few page-blob calls as possible. Entries are laid over each
 * other in write order (a later write wins where they overlap), then touching data extents are
 * joined into runs of at most 4 MiB (one Put Page each) and touching zero extents into one Clear
 * Pages each. The resulting operations never overlap, so they can be sent in any order, in parallel.
 */
import { type DeltaEntry, isZeroEntry } from '../delta';

/** Put Page takes at most 4 MiB. */
export const MAX_PUT_PAGE_BYTES = 4 * 1024 * 1024;

export type PageOp =
  | { kind: 'put'; disk: number; offset: number; data: Buffer }
  | { kind: 'clear'; disk: number; offset: number; length: number };

interface Extent {
  start: number;
  end: number;
  /** The bytes for [start, end); absent for a zeroed extent. */
  data?: Buffer;
}

/** Lays [start, end) over a sorted list of non-overlapping extents, trimming what it covers. */
function overlay(extents: Extent[], next: Extent): Extent[] {
  const out: Extent[] = [];
  let inserted = false;
  for (const e of extents) {
    if (e.end <= next.start) {
      out.push(e);
      continue;
    }
    if (e.start >= next.end) {
      if (!inserted) {
        out.push(next);
        inserted = true;
      }
      out.push(e);
      continue;
    }
    if (e.start < next.start) out.push(slice(e, e.start, next.start));
    if (!inserted) {
      out.push(next);
      inserted = true;
    }
    if (e.end > next.end) out.push(slice(e, next.end, e.end));
  }
  if (!inserted) out.push(next);
  return out;
}

function slice(e: Extent, start: number, end: number): Extent {
  return { start, end, data: e.data?.subarray(start - e.start, end - e.start) };
}

export function coalesce(entries: readonly DeltaEntry[]): PageOp[] {
  const perDisk = new Map<number, Extent[]>();
  for (const entry of entries) {
    const extent: Extent = isZeroEntry(entry)
      ? { start: entry.offset, end: entry.offset + entry.zeroLength }
      : { start: entry.offset, end: entry.offset + entry.data.length, data: entry.data };
    perDisk.set(entry.disk, overlay(perDisk.get(entry.disk) ?? [], extent));
  }
  const ops: PageOp[] = [];
  for (const [disk, extents] of [...perDisk.entries()].sort((a, b) => a[0] - b[0])) {
    let i = 0;
    while (i < extents.length) {
      const first = extents[i]!;
      if (!first.data) {
        let end = first.end;
        while (i + 1 < extents.length && !extents[i + 1]!.data && extents[i + 1]!.start === end)
          end = extents[++i]!.end;
        ops.push({ kind: 'clear', disk, offset: first.start, length: end - first.start });
        i++;
        continue;
      }
      const run: Buffer[] = [first.data];
      let end = first.end;
      while (
        i + 1 < extents.length &&
        extents[i + 1]!.data &&
        extents[i + 1]!.start === end &&
        extents[i + 1]!.end - first.start <= MAX_PUT_PAGE_BYTES
      ) {
        const next = extents[++i]!;
        run.push(next.data!);
        end = next.end;
      }
      // Extents longer than a Put Page (never from one entry, but from a merge) are split.
      const data = run.length === 1 ? run[0]! : Buffer.concat(run);
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
