/** Sends coalesced page operations to a VM's replica disks (page blobs), several at a time. */
import type { ContainerClient } from '@azure/storage-blob';
import pLimit from 'p-limit';

import { TidemarkError } from '../errors';
import type { ReplicatedDiskInfo } from '../protectedItems';
import type { PageOp } from './coalesce';

export function replicaBlobName(resourceGroup: string, vm: string, disk: string): string {
  return `${resourceGroup}/${vm}/${disk}`;
}

/** Refuses, before anything is written, ops for a disk the VM lacks or past a disk's end. */
export function checkPageOps(ops: readonly PageOp[], disks: readonly ReplicatedDiskInfo[], vm: string): void {
  const byLun = new Map(disks.map((d) => [d.lun, d]));
  for (const op of ops) {
    const disk = byLun.get(op.disk);
    if (!disk) {
      throw new TidemarkError(
        'DeltaMalformed',
        `A delta writes disk ${op.disk}, which ${vm} does not have.`,
        {
          details: { disk: op.disk, known: [...byLun.keys()] },
        },
      );
    }
    const end = op.offset + (op.kind === 'put' ? op.data.length : op.length);
    if (end > disk.sizeBytes) {
      throw new TidemarkError(
        'DeltaMalformed',
        `A delta writes past the end of disk ${disk.name} of ${vm} (${end} > ${disk.sizeBytes}).`,
        { details: { disk: disk.name, end, size: disk.sizeBytes } },
      );
    }
  }
}

/** Writes checked ops (see checkPageOps) to the VM's replica page blobs, `concurrency` at a time. */
export async function writePages(
  replicas: ContainerClient,
  resourceGroup: string,
  vm: string,
  disks: readonly ReplicatedDiskInfo[],
  ops: readonly PageOp[],
  concurrency = 32,
): Promise<void> {
  const names = new Map(disks.map((d) => [d.lun, d.name]));
  const limit = pLimit(concurrency);
  await Promise.all(
    ops.map((op) =>
      limit(async () => {
        const blob = replicas.getPageBlobClient(replicaBlobName(resourceGroup, vm, names.get(op.disk)!));
        if (op.kind === 'put') await blob.uploadPages(op.data, op.offset, op.data.length);
        else await blob.clearPages(op.offset, op.length);
      }),
    ),
  );
}
