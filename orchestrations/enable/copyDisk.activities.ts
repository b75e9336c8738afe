/**
 * Initial replication of one disk: every allocated page range of the source disk (locally the page
 * blob `disks/{rg}/{vm}/{disk}`; in Azure a snapshot of the managed disk, read through a SAS) copied
 * to its replica in 4 MiB Put Pages. Writes go on meanwhile; the agent journals them from before the
 * copy starts, and the applier replays them over the copy once apply is on, so the replica converges.
 * Idempotent: a second copy writes the same ranges again.
 */
import { CONTAINERS } from '../../shared/storageNames';
import { openReplicatedDisk } from '../../shared/workflows/replicatedDisks';
import { replicaBlobName } from './replicas.activities';
import { enableServices } from './services.activities';
import type { CopyDiskInput } from './types';

/** Largest Put Page. */
export const COPY_CHUNK_BYTES = 4 * 1024 * 1024;

export interface CopyDiskResult {
  allocatedBytes: number;
  copiedBytes: number;
}

function allZero(data: Buffer): boolean {
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}

export async function copyDisk(input: CopyDiskInput): Promise<CopyDiskResult> {
  const s = enableServices(input.direction);
  const region = s.config.source.name;
  const { disk } = input;
  const replica = s.target
    .getContainerClient(CONTAINERS.replicas)
    .getPageBlobClient(replicaBlobName(input.resourceGroup, input.vm, disk.name));
  const reader = await openReplicatedDisk(
    s.fabric,
    region,
    input,
    disk,
    `enable:${input.resourceGroup}/${input.vm}:${input.generation}`,
  );
  let allocatedBytes = 0;
  let copiedBytes = 0;
  try {
    for await (const range of reader.blob.listPageRanges()) {
      if (range.isClear) continue;
      // In Azure the disk's blob ends with a VHD footer that is not the disk's.
      const end = Math.min(range.end + 1, disk.sizeBytes);
      if (range.start >= end) continue;
      allocatedBytes += end - range.start;
      for (let at = range.start; at < end; at += COPY_CHUNK_BYTES) {
        const length = Math.min(COPY_CHUNK_BYTES, end - at);
        const data = await reader.blob.downloadToBuffer(at, length);
        // The replica is empty: zero pages need no write.
        if (allZero(data)) continue;
        await replica.uploadPages(data, at, length);
        copiedBytes += length;
      }
    }
  } finally {
    await reader.close();
  }
  return { allocatedBytes, copiedBytes };
}
