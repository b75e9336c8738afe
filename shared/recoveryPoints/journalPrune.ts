/**
 * Deletes journal blobs no any-point-in-time request can need. Materializing at a time starts from a
 * point and replays the deltas after it in the same generation, so a delta is needed only while a
 * kept point of its generation has a lower sequence; a segment goes once its last possible sequence
 * (start + 255) is at or below the generation's lowest kept point, and a legacy per-delta blob once
 * its sequence is. A generation older than every kept point's is dropped whole; one newer than all
 * of them (a resync that has no point yet) is left alone.
 */
import type { ContainerClient } from '@azure/storage-blob';
import pLimit from 'p-limit';

import { deltaBlobPrefix } from '../delta';
import { journalBlobRange, parseJournalBlobName } from '../journal';
import type { RecoveryPoint } from './types';

const DELETE_CONCURRENCY = 16;

/** Returns how many blobs it deleted (segments and legacy deltas). */
export async function pruneJournal(
  journal: ContainerClient,
  resourceGroup: string,
  vm: string,
  kept: readonly Pick<RecoveryPoint, 'generation' | 'sequence'>[],
): Promise<number> {
  if (kept.length === 0) return 0;
  const floor = new Map<number, number>();
  for (const p of kept) floor.set(p.generation, Math.min(floor.get(p.generation) ?? Infinity, p.sequence));
  const newestGeneration = Math.max(...floor.keys());
  const vmPrefix = deltaBlobPrefix({ resourceGroup, vm });
  const generations: number[] = [];
  for await (const entry of journal.listBlobsByHierarchy('/', { prefix: vmPrefix })) {
    if (entry.kind !== 'prefix') continue;
    const generation = Number(entry.name.slice(vmPrefix.length, -1));
    if (Number.isSafeInteger(generation)) generations.push(generation);
  }
  const limit = pLimit(DELETE_CONCURRENCY);
  const deletions: Promise<boolean>[] = [];
  for (const generation of generations) {
    const upTo = floor.get(generation) ?? (generation < newestGeneration ? Infinity : -1);
    if (upTo < 0) continue;
    // Segments and legacy blobs sort together by their first sequence, so the listing can stop at
    // the first blob that starts above the floor; a segment that starts below it may still be needed.
    for await (const blob of journal.listBlobsFlat({
      prefix: deltaBlobPrefix({ resourceGroup, vm, generation }),
    })) {
      const parsed = parseJournalBlobName(blob.name);
      if (!parsed) continue;
      const { first, last } = journalBlobRange(parsed);
      if (first > upTo) break;
      if (last > upTo) continue;
      deletions.push(limit(async () => (await journal.getBlobClient(blob.name).deleteIfExists()).succeeded));
    }
  }
  return (await Promise.all(deletions)).filter(Boolean).length;
}
