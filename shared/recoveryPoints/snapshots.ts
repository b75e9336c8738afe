/** Snapshots of a VM's replica page blobs: take one per disk for a point, delete them, find orphans. */
import { type ContainerClient, RestError } from '@azure/storage-blob';
import pLimit from 'p-limit';

import type { ReplicatedDiskInfo } from '../protectedItems';
import { replicaBlobName } from '../replication/replicaWriter';
import { type RecoveryPoint, type RecoveryPointDisk, SNAPSHOT_POINT_METADATA } from './types';

const DELETE_CONCURRENCY = 16;

/** Snapshots every disk at once; if one fails, the others are removed again and the error thrown. */
export async function snapshotDisks(
  replicas: ContainerClient,
  resourceGroup: string,
  vm: string,
  disks: readonly ReplicatedDiskInfo[],
  pointId: string,
): Promise<RecoveryPointDisk[]> {
  const results = await Promise.allSettled(
    disks.map(async (d) => {
      const blob = replicas.getPageBlobClient(replicaBlobName(resourceGroup, vm, d.name));
      const res = await blob.createSnapshot({ metadata: { [SNAPSHOT_POINT_METADATA]: pointId } });
      return { lun: d.lun, name: d.name, sizeBytes: d.sizeBytes, snapshot: res.snapshot! };
    }),
  );
  const made = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await deleteSnapshots(replicas, resourceGroup, vm, made).catch(() => undefined);
    throw failed.reason;
  }
  return made;
}

export async function deleteSnapshots(
  replicas: ContainerClient,
  resourceGroup: string,
  vm: string,
  disks: readonly Pick<RecoveryPointDisk, 'name' | 'snapshot'>[],
): Promise<void> {
  const limit = pLimit(DELETE_CONCURRENCY);
  await Promise.all(
    disks.map((d) =>
      limit(async () => {
        const blob = replicas
          .getBlobClient(replicaBlobName(resourceGroup, vm, d.name))
          .withSnapshot(d.snapshot);
        try {
          await blob.delete();
        } catch (err) {
          if (!(err instanceof RestError && err.statusCode === 404)) throw err;
        }
      }),
    ),
  );
}

/**
 * Snapshots tidemark took of the VM's replicas that no point in `points` names (left by a crash
 * between taking snapshots and recording, or between deleting a row and its snapshots).
 */
export async function orphanSnapshots(
  replicas: ContainerClient,
  resourceGroup: string,
  vm: string,
  points: readonly Pick<RecoveryPoint, 'disks'>[],
): Promise<{ name: string; snapshot: string }[]> {
  const named = new Set(points.flatMap((p) => p.disks.map((d) => `${d.name}@${d.snapshot}`)));
  const prefix = replicaBlobName(resourceGroup, vm, '');
  const out: { name: string; snapshot: string }[] = [];
  for await (const blob of replicas.listBlobsFlat({
    prefix,
    includeSnapshots: true,
    includeMetadata: true,
  })) {
    if (!blob.snapshot || blob.metadata?.[SNAPSHOT_POINT_METADATA] === undefined) continue;
    const name = blob.name.slice(prefix.length);
    if (!named.has(`${name}@${blob.snapshot}`)) out.push({ name, snapshot: blob.snapshot });
  }
  return out;
}
