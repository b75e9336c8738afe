/** Sends coalesced page operations to a VM's replica disks (page blobs), several at a time. */
import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';
import pLimit from 'p-limit';

import { type DeltaEntry, entryLength } from '../delta';
import { TidemarkError } from '../errors';
import type { ReplicatedDiskInfo } from '../protectedItems';
import type { PageOp } from './coalesce';

export function replicaBlobName(resourceGroup: string, vm: string, disk: string): string {
  return `${resourceGroup}/${vm}/${disk}`;
}

/** Refuses, before anything is written, ops for a disk the VM lacks or past a disk's end. */
export function checkPageOps(ops: readonly PageOp[], disks: readonly ReplicatedDiskInfo[], vm: string): void {
  checkRanges(
    ops.map((op) => ({ disk: op.disk, end: op.offset + (op.kind === 'put' ? op.data.length : op.length) })),
    disks,
    vm,
  );
}

/**
 * The same check on a delta's entries before they are coalesced (the ops cover exactly the ranges
 * the entries write, so one passes where the other does).
 */
export function checkEntries(
  entries: readonly DeltaEntry[],
  disks: readonly ReplicatedDiskInfo[],
  vm: string,
): void {
  checkRanges(
    entries.map((e) => ({ disk: e.disk, end: e.offset + entryLength(e) })),
    disks,
    vm,
  );
}

function checkRanges(
  ranges: readonly { disk: number; end: number }[],
  disks: readonly ReplicatedDiskInfo[],
  vm: string,
): void {
  const byLun = new Map(disks.map((d) => [d.lun, d]));
  for (const { disk: lun, end } of ranges) {
    const disk = byLun.get(lun);
    if (!disk) {
      throw new TidemarkError('DeltaMalformed', `A delta writes disk ${lun}, which ${vm} does not have.`, {
        details: { disk: lun, known: [...byLun.keys()] },
      });
    }
    if (end > disk.sizeBytes) {
      throw new TidemarkError(
        'DeltaMalformed',
        `A delta writes past the end of disk ${disk.name} of ${vm} (${end} > ${disk.sizeBytes}).`,
        { details: { disk: disk.name, end, size: disk.sizeBytes } },
      );
    }
  }
}

/**
 * Writes checked ops (see checkPageOps) to the VM's replica page blobs, `concurrency` at a time.
 * After a failure nothing more is started, and it returns (throwing) only once none is in flight.
 */
export async function writePages(
  replicas: ContainerClient,
  resourceGroup: string,
  vm: string,
  disks: readonly ReplicatedDiskInfo[],
  ops: readonly PageOp[],
  concurrency = 32,
): Promise<void> {
  const names = new Map(disks.map((d) => [d.lun, d.name]));
  const blobs = new Map<number, PageBlobClient>();
  const blobOf = (lun: number): PageBlobClient => {
    let blob = blobs.get(lun);
    if (!blob) {
      blob = replicas.getPageBlobClient(replicaBlobName(resourceGroup, vm, names.get(lun)!));
      blobs.set(lun, blob);
    }
    return blob;
  };
  const limit = pLimit(concurrency);
  let stopped = false;
  const results = await Promise.allSettled(
    ops.map((op) =>
      limit(async () => {
        if (stopped) return;
        const blob = blobOf(op.disk);
        try {
          if (op.kind === 'put') await blob.uploadPages(op.data, op.offset, op.data.length);
          else await blob.clearPages(op.offset, op.length);
        } catch (err) {
          stopped = true;
          throw err;
        }
      }),
    ),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}
