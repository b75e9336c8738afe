/**
 * Any-point-in-time: materializes a VM's disks as new page blobs, as of a recovery point or as of a
 * source time (the newest point at or before it, plus the journal replayed up to the last delta
 * written at or before it). Used by failover and test failover. If pruning removes the point's
 * snapshots or journal while this reads them, it starts over from a point that is still kept.
 */
import type { ContainerClient } from '@azure/storage-blob';

import { isTidemarkError } from '../errors';
import type { Logger } from '../logger';
import type { ProtectedItemStore } from '../protectedItems';
import { replicaBlobName } from '../replication/replicaWriter';
import type { RecoveryPointCatalog } from './catalog';
import { type CopyMode, copySnapshot, serverCopyFits } from './diskCopy';
import { replayJournal } from './replay';
import { type PointSelector, resolvePoint } from './resolvePoint';
import type { RecoveryPoint } from './types';

export interface MaterializeDeps {
  replicas: ContainerClient;
  journal: ContainerClient;
  catalog: RecoveryPointCatalog;
  items: ProtectedItemStore;
  logger?: Logger;
}

export type MaterializeRequest = { resourceGroup: string; vm: string } & PointSelector;

export interface MaterializeTarget {
  /** Where the disks go: page blobs `{prefix}{disk name}` in this container (created if missing). */
  container: ContainerClient;
  prefix: string;
  /** auto: server-side within the replicas' Azure account, else through this process (diskCopy.ts). */
  copy?: CopyMode;
}

export interface MaterializedDisk {
  lun: number;
  name: string;
  blobName: string;
  sizeBytes: number;
}

export interface MaterializeResult {
  disks: MaterializedDisk[];
  point: RecoveryPoint;
  /** The newest delta in the disks (the point's own watermark when nothing was replayed). */
  replayedThrough: { sequence: number; time: number };
  replayedDeltas: number;
}

const ATTEMPTS = 3;

export async function materializeAt(
  deps: MaterializeDeps,
  request: MaterializeRequest,
  target: MaterializeTarget,
): Promise<MaterializeResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await materializeOnce(deps, request, target);
    } catch (err) {
      if (!isTidemarkError(err, 'Conflict') || attempt >= ATTEMPTS) throw err;
      deps.logger?.info('A recovery point was pruned while materializing it; starting over', {
        vm: `${request.resourceGroup}/${request.vm}`,
        attempt,
        error: err.message,
      });
    }
  }
}

async function materializeOnce(
  deps: MaterializeDeps,
  request: MaterializeRequest,
  target: MaterializeTarget,
): Promise<MaterializeResult> {
  const { resourceGroup, vm } = request;
  const point = await resolvePoint(deps.catalog, resourceGroup, vm, request);
  // Read after the point: journal deltas at or below this watermark exist unless pruned.
  const item = 'time' in request ? await deps.items.get(resourceGroup, vm) : undefined;
  await target.container.createIfNotExists();
  const server =
    target.copy === 'server' || (target.copy !== 'client' && serverCopyFits(deps.replicas, target.container));
  const disks: MaterializedDisk[] = point.disks.map((d) => ({
    lun: d.lun,
    name: d.name,
    blobName: `${target.prefix}${d.name}`,
    sizeBytes: d.sizeBytes,
  }));
  const copying = Promise.all(
    point.disks.map((d, i) =>
      copySnapshot(
        deps.replicas.getPageBlobClient(replicaBlobName(resourceGroup, vm, d.name)).withSnapshot(d.snapshot),
        target.container.getPageBlobClient(disks[i]!.blobName),
        d.sizeBytes,
        server,
      ),
    ),
  );
  const result: MaterializeResult = {
    disks,
    point,
    replayedThrough: { sequence: point.sequence, time: point.time },
    replayedDeltas: 0,
  };
  if (!('time' in request)) {
    await copying;
    return result;
  }
  const byLun = new Map(disks.map((d) => [d.lun, target.container.getPageBlobClient(d.blobName)]));
  // The journal downloads while the snapshots copy; its writes wait for the copy. Both settle before
  // anything is reported, so a retry never races a copy still writing the same blobs.
  const [copied, replayed] = await Promise.allSettled([
    copying,
    replayJournal({
      journal: deps.journal,
      point,
      until: request.time,
      appliedThrough: item?.generation === point.generation ? item.watermark : undefined,
      blobFor: (lun) => byLun.get(lun)!,
      writesAfter: copying,
    }),
  ]);
  if (copied.status === 'rejected') throw copied.reason;
  if (replayed.status === 'rejected') throw replayed.reason;
  result.replayedThrough = { sequence: replayed.value.sequence, time: replayed.value.time };
  result.replayedDeltas = replayed.value.deltas;
  return result;
}
