/** Sends coalesced page operations to a VM's replica disks (page blobs), several at a time. */
import type { ContainerClient } from '@azure/storage-blob';
import pLimit from 'p-limit';

import { TidemarkError } from '../errors';
import type { ReplicatedDiskInfo } from '../protectedItems';
import type { PageOp } from './coalesce';

export function replicaBlobName(resourceGroup: string, vm: string, disk: string): string {
  return `${resourceGroup}/${vm}/${disk}`;
}

export async function writePages(
  replicas: ContainerClient,
  resourceGroup: string,
  vm: string,
  disks: readonly ReplicatedDiskInfo[],
  ops: readonly PageOp[],
  concurrency = 8,
): Promise<void> {
  const byLun = new Map(disks.map((d) => [d.lun, d]));
  const limit = pLimit(concurrency);
  await Promise.all(
    ops.map((op) =>
      limit(async () => {
        const disk = byLun.get(op.disk);
        if (!disk) {
          throw new TidemarkError(
            'DeltaMalformed',
            `A delta writes disk ${op.disk}, which ${resourceGroup}/${vm} does not have.`,
            {
              details: { disk: op.disk, known: [...byLun.keys()] },
            },
          );
        }
        const end = op.offset + (op.kind === 'put' ? op.data.length : op.length);
        if (end > disk.sizeBytes) {
          throw new TidemarkError(
            'DeltaMalformed',
            `A delta writes past the end of disk ${disk.name} (${end} > ${disk.sizeBytes}).`,
            {
              details: { disk: disk.name, end, size: disk.sizeBytes },
            },
          );
        }
        const blob = replicas.getPageBlobClient(replicaBlobName(resourceGroup, vm, disk.name));
        if (op.kind === 'put') await blob.uploadPages(op.data, op.offset, op.data.length);
        else await blob.clearPages(op.offset, op.length);
      }),
    ),
  );
}
