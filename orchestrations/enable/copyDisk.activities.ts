/**
 * Initial replication of one disk: every allocated page range of the source disk
 * (`disks/{rg}/{vm}/{disk}`, source account) copied to its replica in 4 MiB Put Pages. Writes go on
 * meanwhile; the agent journals them from before the copy starts, and the applier replays them over
 * the copy once apply is on, so the replica converges. Idempotent: a second copy writes the same
 * ranges again.
 */
import { CONTAINERS } from '../../shared/storageNames';
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
  const s = enableServices();
  const name = replicaBlobName(input.resourceGroup, input.vm, input.disk.name);
  const source = s.fabric.disks(s.config.source.name).getPageBlobClient(name);
  const replica = s.target.getContainerClient(CONTAINERS.replicas).getPageBlobClient(name);
  let allocatedBytes = 0;
  let copiedBytes = 0;
  for await (const range of source.listPageRanges()) {
    if (range.isClear) continue;
    const end = range.end + 1;
    allocatedBytes += end - range.start;
    for (let at = range.start; at < end; at += COPY_CHUNK_BYTES) {
      const length = Math.min(COPY_CHUNK_BYTES, end - at);
      const data = await source.downloadToBuffer(at, length);
      // The replica is empty: zero pages need no write.
      if (allZero(data)) continue;
      await replica.uploadPages(data, at, length);
      copiedBytes += length;
    }
  }
  return { allocatedBytes, copiedBytes };
}
