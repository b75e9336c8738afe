/**
 * Replica disks for a new generation: empty page blobs `replicas/{rg}/{vm}/{disk}` in the target
 * account, tagged with the generation in metadata. A replica left by an earlier generation is
 * cleared (its pages, not its snapshots: older recovery points keep theirs) and resized, so the
 * initial copy of only the source's allocated ranges leaves no stale bytes. Idempotent: a replica
 * already tagged with this generation is kept as it is.
 */
import { RestError } from '@azure/storage-blob';

import { CONTAINERS } from '../../shared/storageNames';
import { enableServices } from './services.activities';
import type { VmGeneration } from './types';
import type { ReplicatedDiskInfo } from '../../shared/protectedItems';

export function replicaBlobName(resourceGroup: string, vm: string, disk: string): string {
  return `${resourceGroup}/${vm}/${disk}`;
}

export async function createReplicas(input: VmGeneration & { disks: ReplicatedDiskInfo[] }): Promise<void> {
  const replicas = enableServices().target.getContainerClient(CONTAINERS.replicas);
  await replicas.createIfNotExists();
  const metadata = { generation: String(input.generation) };
  for (const disk of input.disks) {
    const blob = replicas.getPageBlobClient(replicaBlobName(input.resourceGroup, input.vm, disk.name));
    try {
      await blob.create(disk.sizeBytes, { metadata, conditions: { ifNoneMatch: '*' } });
      continue;
    } catch (err) {
      if (!(err instanceof RestError && err.statusCode === 409)) throw err;
    }
    const props = await blob.getProperties();
    if (props.metadata?.generation === metadata.generation && props.contentLength === disk.sizeBytes)
      continue;
    if (props.contentLength !== disk.sizeBytes) await blob.resize(disk.sizeBytes);
    await blob.clearPages(0, disk.sizeBytes);
    await blob.setMetadata(metadata);
  }
}
