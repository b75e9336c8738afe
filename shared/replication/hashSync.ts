/**
 * Brings a replica that starts from an old copy of a disk (reprotect: the original VM's disk) up to
 * the disk by hashes: both sides' allocated ranges are read in chunks, each block's hash compared,
 * and only blocks whose hashes differ are written (or cleared, where the disk is zero). In Azure each
 * side would hash its own region's bytes; here this process reads both.
 */
import { createHash } from 'node:crypto';

import type { PageBlobClient } from '@azure/storage-blob';
import pLimit from 'p-limit';

import { MAX_PUT_PAGE_BYTES } from './coalesce';

export interface HashSyncOptions {
  /** The unit compared and sent (default 64 KiB; a multiple of 512). */
  blockBytes?: number;
  /** Chunks read at once (default 4). */
  concurrency?: number;
}

export interface HashSyncResult {
  comparedBytes: number;
  sentBytes: number;
  clearedBytes: number;
}

interface Range {
  start: number;
  /** Exclusive. */
  end: number;
}

async function allocated(blob: PageBlobClient): Promise<Range[]> {
  const out: Range[] = [];
  for await (const r of blob.listPageRanges()) if (!r.isClear) out.push({ start: r.start, end: r.end + 1 });
  return out;
}

/** The union of `ranges`, widened to whole blocks, sorted and merged. */
export function blockRanges(ranges: Range[], blockBytes: number, sizeBytes: number): Range[] {
  const widened = ranges
    .map((r) => ({
      start: Math.floor(r.start / blockBytes) * blockBytes,
      end: Math.min(sizeBytes, Math.ceil(r.end / blockBytes) * blockBytes),
    }))
    .sort((a, b) => a.start - b.start);
  const merged: Range[] = [];
  for (const r of widened) {
    const last = merged.at(-1);
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else merged.push({ ...r });
  }
  return merged;
}

function digest(data: Buffer): string {
  return createHash('sha256').update(data).digest('base64');
}

function isZero(data: Buffer): boolean {
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}

/** The runs of blocks of `chunk` (at `offset`) whose hashes differ between the two sides. */
export function differingRuns(source: Buffer, replica: Buffer, blockBytes: number): Range[] {
  const runs: Range[] = [];
  for (let at = 0; at < source.length; at += blockBytes) {
    const end = Math.min(source.length, at + blockBytes);
    if (digest(source.subarray(at, end)) === digest(replica.subarray(at, end))) continue;
    const last = runs.at(-1);
    if (last && last.end === at) last.end = end;
    else runs.push({ start: at, end });
  }
  return runs;
}

export async function hashSyncDisk(
  source: PageBlobClient,
  replica: PageBlobClient,
  sizeBytes: number,
  options: HashSyncOptions = {},
): Promise<HashSyncResult> {
  const blockBytes = options.blockBytes ?? 64 * 1024;
  const chunkBytes = Math.floor(MAX_PUT_PAGE_BYTES / blockBytes) * blockBytes;
  const [a, b] = await Promise.all([allocated(source), allocated(replica)]);
  const result: HashSyncResult = { comparedBytes: 0, sentBytes: 0, clearedBytes: 0 };
  const limit = pLimit(options.concurrency ?? 4);
  const work: Promise<void>[] = [];
  for (const range of blockRanges([...a, ...b], blockBytes, sizeBytes)) {
    for (let offset = range.start; offset < range.end; offset += chunkBytes) {
      const length = Math.min(chunkBytes, range.end - offset);
      work.push(
        limit(async () => {
          const [mine, theirs] = await Promise.all([
            source.downloadToBuffer(offset, length),
            replica.downloadToBuffer(offset, length),
          ]);
          for (const run of differingRuns(mine, theirs, blockBytes)) {
            const data = mine.subarray(run.start, run.end);
            const at = offset + run.start;
            if (isZero(data)) {
              await replica.clearPages(at, data.length);
              result.clearedBytes += data.length;
            } else {
              await replica.uploadPages(data, at, data.length);
              result.sentBytes += data.length;
            }
          }
          result.comparedBytes += length;
        }),
      );
    }
  }
  // Settle every chunk before reporting, so a retry never races a write still going.
  const failed = (await Promise.allSettled(work)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return result;
}
