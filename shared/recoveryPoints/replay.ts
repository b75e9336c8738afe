/**
 * Replays a point's journal onto materialized disks: the deltas after the point, in sequence order,
 * up to the last one whose writes all happened at or before `until`. Runs of deltas are coalesced
 * together (as the applier does with a backlog) and written as Put Page / Clear Pages calls.
 */
import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';
import pLimit from 'p-limit';

import { decodeDelta, type Delta } from '../delta';
import { TidemarkError } from '../errors';
import { JournalReader, MAX_FRAME_DELTA_BYTES } from '../journal';
import { coalesce, type PageOp } from '../replication/coalesce';
import { checkPageOps } from '../replication/replicaWriter';
import type { RecoveryPoint } from './types';

const MAX_BATCH_DELTAS = 16;
const MAX_BATCH_BYTES = 64 * 1024 * 1024;
const WRITE_CONCURRENCY = 32;

export interface ReplayOptions {
  journal: ContainerClient;
  point: RecoveryPoint;
  /** Source time (ms): deltas whose last write is later are not replayed, nor any after them. */
  until: number;
  /** The VM's watermark in the point's generation, if known: a delta missing at or below it was pruned. */
  appliedThrough?: number;
  /** The page blob that receives disk `lun`. */
  blobFor: (lun: number) => PageBlobClient;
  /** Nothing is written before this settles (the disks' copy); deltas download meanwhile. */
  writesAfter?: Promise<unknown>;
  maxDeltaBytes?: number;
}

export interface ReplayResult {
  sequence: number;
  time: number;
  deltas: number;
}

export async function replayJournal(options: ReplayOptions): Promise<ReplayResult> {
  const reader = new JournalReader(options.journal, options.point, options.point.sequence + 1);
  try {
    return await replay(reader, options);
  } finally {
    reader.close();
  }
}

async function replay(reader: JournalReader, options: ReplayOptions): Promise<ReplayResult> {
  const { point, until } = options;
  const vmId = `${point.resourceGroup}/${point.vm}`;
  const through = { sequence: point.sequence, time: point.time, deltas: 0 };
  let sequence = point.sequence + 1;
  let done = false;
  while (!done) {
    const batch: Delta[] = [];
    let bytes = 0;
    while (batch.length < MAX_BATCH_DELTAS && bytes < MAX_BATCH_BYTES) {
      const body = await reader.next();
      if (!body) {
        if (options.appliedThrough !== undefined && sequence <= options.appliedThrough) {
          throw new TidemarkError(
            'Conflict',
            `Journal delta ${sequence} of ${vmId} (generation ${point.generation}) was pruned while replaying.`,
            { retryable: true, details: { sequence, generation: point.generation } },
          );
        }
        done = true;
        break;
      }
      const delta = decodeDelta(body, {
        vmId,
        generation: point.generation,
        sequence,
        maxBytes: options.maxDeltaBytes ?? MAX_FRAME_DELTA_BYTES,
      });
      if (delta.lastWriteTime > until) {
        done = true;
        break;
      }
      batch.push(delta);
      bytes += body.length;
      sequence++;
    }
    if (batch.length === 0) break;
    const ops = coalesce(batch.flatMap((d) => d.entries));
    checkPageOps(ops, point.disks, vmId);
    await options.writesAfter;
    await writeOps(options.blobFor, ops);
    const last = batch[batch.length - 1]!;
    through.sequence = last.sequence;
    through.time = Math.max(through.time, last.lastWriteTime);
    through.deltas += batch.length;
  }
  return through;
}

async function writeOps(blobFor: (lun: number) => PageBlobClient, ops: readonly PageOp[]): Promise<void> {
  const limit = pLimit(WRITE_CONCURRENCY);
  await Promise.all(
    ops.map((op) =>
      limit(async () => {
        const blob = blobFor(op.disk);
        if (op.kind === 'put') await blob.uploadPages(op.data, op.offset, op.data.length);
        else await blob.clearPages(op.offset, op.length);
      }),
    ),
  );
}
