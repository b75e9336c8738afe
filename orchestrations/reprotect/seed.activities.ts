/**
 * Reprotect's replicas, in the original region: `replicas/{rg}/{vm}/{disk}` of the failed-over VM,
 * each started as a copy of the original VM's old disk (read through the region's disk access: in
 * place locally, a snapshot of the managed disk in Azure), or empty when that disk is gone. The hash
 * comparison then sends only what differs. Idempotent: a replica already tagged with this generation
 * is kept.
 */
import { type BlobGetPropertiesResponse, RestError } from '@azure/storage-blob';

import { isTidemarkError } from '../../shared/errors';
import type { DiskReader, VmDiskAccess } from '../../shared/fabric/diskAccess';
import { VHD_FOOTER_BYTES } from '../../shared/fabric/vhdFooter';
import { copySnapshot, serverCopyFits } from '../../shared/recoveryPoints/diskCopy';
import { replicaBlobName } from '../../shared/replication/replicaWriter';
import { CONTAINERS } from '../../shared/storageNames';
import { workflowServices } from '../../shared/workflows/services';
import type { ReprotectPlan, SeedDisk } from './types';

export interface SeedResult {
  seeded: string[];
  empty: string[];
}

/** The blob's properties; undefined when it does not exist. */
async function propertiesOf(blob: DiskReader['blob']): Promise<BlobGetPropertiesResponse | undefined> {
  try {
    return await blob.getProperties();
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) return undefined;
    throw err;
  }
}

export async function seedReplicas(plan: ReprotectPlan): Promise<SeedResult> {
  const { reverse } = plan;
  const s = workflowServices(reverse.direction);
  const replicas = s.target.getContainerClient(CONTAINERS.replicas);
  await replicas.createIfNotExists();
  const region = s.config.target.name;
  const access = s.fabric.diskAccess(region);
  const metadata = { generation: String(reverse.generation) };
  const result: SeedResult = { seeded: [], empty: [] };
  for (const seedDisk of plan.seeds) {
    const { disk } = seedDisk;
    const replica = replicas.getPageBlobClient(replicaBlobName(reverse.resourceGroup, reverse.vm, disk.name));
    const props = await propertiesOf(replica);
    if (props?.metadata?.generation === metadata.generation && props.contentLength === disk.sizeBytes) {
      (props.metadata.seeded === 'true' ? result.seeded : result.empty).push(disk.name);
      continue;
    }
    const reader = await openSeed(access, seedDisk, region, plan);
    try {
      const seedSize = reader ? (await propertiesOf(reader.blob))?.contentLength : undefined;
      // In Azure the old disk's blob is its bytes plus the VHD footer.
      if (reader && (seedSize === disk.sizeBytes || seedSize === disk.sizeBytes + VHD_FOOTER_BYTES)) {
        await copySnapshot(reader.blob, replica, disk.sizeBytes, serverCopyFits(reader.blob, replicas));
        await replica.setMetadata({ ...metadata, seeded: 'true' });
        result.seeded.push(disk.name);
        continue;
      }
    } finally {
      await reader?.close();
    }
    // Overwrites a replica left by an earlier generation (its snapshots, if any, stay).
    await replica.create(disk.sizeBytes, { metadata: { ...metadata, seeded: 'false' } });
    result.empty.push(disk.name);
  }
  return result;
}

/** The original VM's old disk, if the plan found one and it is still there. */
async function openSeed(
  access: VmDiskAccess,
  { seed, seedBlob }: SeedDisk,
  region: string,
  { reverse }: ReprotectPlan,
): Promise<DiskReader | undefined> {
  if (!seedBlob) return undefined;
  try {
    return await access.openRead(
      seed ?? { region, container: CONTAINERS.disks, name: seedBlob },
      `reprotect:${reverse.resourceGroup}/${reverse.vm}:${reverse.generation}`,
    );
  } catch (err) {
    // Deleted since the plan was made: the replica starts empty.
    if (isTidemarkError(err, 'NotFound')) return undefined;
    throw err;
  }
}
