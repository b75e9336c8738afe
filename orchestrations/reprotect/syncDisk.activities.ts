/**
 * "Synchronizing the disks", one disk: the failed-over VM's disk against its replica in the original
 * region (seeded from the original VM's old disk), sending only blocks whose hashes differ. Writes go
 * on meanwhile; the agent has journaled them since it took the new generation, and the applier
 * replays them over the synced replica once apply is on. Idempotent: a second sync sends nothing new.
 */
import { hashSyncDisk } from '../../shared/replication/hashSync';
import { replicaBlobName } from '../../shared/replication/replicaWriter';
import { CONTAINERS } from '../../shared/storageNames';
import { vmDiskPrefix } from '../../shared/vmDisks';
import { workflowServices } from '../../shared/workflows/services';
import type { SyncDiskInput, SyncDiskResult } from './types';

export async function syncDisk(input: SyncDiskInput): Promise<SyncDiskResult> {
  const { reverse, disk } = input;
  const s = workflowServices(reverse.direction);
  const source = s.fabric
    .disks(s.config.source.name)
    .getPageBlobClient(`${vmDiskPrefix(reverse.resourceGroup, reverse.vm)}${disk.name}`);
  const replica = s.target
    .getContainerClient(CONTAINERS.replicas)
    .getPageBlobClient(replicaBlobName(reverse.resourceGroup, reverse.vm, disk.name));
  return hashSyncDisk(source, replica, disk.sizeBytes);
}
