/**
 * Reprotect's replicas, in the original region: `replicas/{rg}/{vm}/{disk}` of the failed-over VM,
 * each started as a copy of the original VM's old disk (same account: server-side in Azure), or empty
 * when that disk is gone. The hash comparison then sends only what differs. Idempotent: a replica
 * already tagged with this generation is kept.
 */
import { RestError } from '@azure/storage-blob';

import { copySnapshot, serverCopyFits } from '../../shared/recoveryPoints/diskCopy';
import { replicaBlobName } from '../../shared/replication/replicaWriter';
import { CONTAINERS } from '../../shared/storageNames';
import { workflowServices } from '../../shared/workflows/services';
import type { ReprotectPlan } from './types';

export interface SeedResult {
  seeded: string[];
  empty: string[];
}

async function exists(blob: {
  getProperties(): Promise<{ contentLength?: number }>;
}): Promise<number | undefined> {
  try {
    return (await blob.getProperties()).contentLength;
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
  const disks = s.fabric.disks(s.config.target.name);
  const metadata = { generation: String(reverse.generation) };
  const result: SeedResult = { seeded: [], empty: [] };
  for (const { disk, seedBlob } of plan.seeds) {
    const replica = replicas.getPageBlobClient(replicaBlobName(reverse.resourceGroup, reverse.vm, disk.name));
    const props = await replica.getProperties().catch((err: unknown) => {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err;
    });
    if (props?.metadata?.generation === metadata.generation && props.contentLength === disk.sizeBytes) {
      (props.metadata.seeded === 'true' ? result.seeded : result.empty).push(disk.name);
      continue;
    }
    const seed = seedBlob ? disks.getPageBlobClient(seedBlob) : undefined;
    const seedSize = seed ? await exists(seed) : undefined;
    if (seed && seedSize === disk.sizeBytes) {
      await copySnapshot(seed, replica, disk.sizeBytes, serverCopyFits(disks, replicas));
      await replica.setMetadata({ ...metadata, seeded: 'true' });
      result.seeded.push(disk.name);
    } else {
      // Overwrites a replica left by an earlier generation (its snapshots, if any, stay).
      await replica.create(disk.sizeBytes, { metadata: { ...metadata, seeded: 'false' } });
      result.empty.push(disk.name);
    }
  }
  return result;
}
