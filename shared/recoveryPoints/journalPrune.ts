/**
 * Deletes journal deltas no any-point-in-time request can need. Materializing at a time starts from
 * a point and replays the deltas after it in the same generation, so a delta is needed only while a
 * kept point of its generation has a lower sequence. A generation older than every kept point's is
 * dropped whole; one newer than all of them (a resync that has no point yet) is left alone.
 */
import type { ContainerClient } from '@azure/storage-blob';
import pLimit from 'p-limit';

import { deltaBlobPrefix, parseDeltaBlobName } from '../delta';
import type { RecoveryPoint } from './types';

const DELETE_CONCURRENCY = 16;

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
  const deletions: Promise<unknown>[] = [];
  for (const generation of generations) {
    const upTo = floor.get(generation) ?? (generation < newestGeneration ? Infinity : -1);
    if (upTo < 0) continue;
    // Names sort by sequence, so the listing can stop at the first delta still needed.
    for await (const blob of journal.listBlobsFlat({
      prefix: deltaBlobPrefix({ resourceGroup, vm, generation }),
    })) {
      let sequence: number;
      try {
        sequence = parseDeltaBlobName(blob.name).sequence;
      } catch {
        continue;
      }
      if (sequence > upTo) break;
      deletions.push(limit(() => journal.getBlobClient(blob.name).deleteIfExists()));
    }
  }
  await Promise.all(deletions);
  return deletions.length;
}
