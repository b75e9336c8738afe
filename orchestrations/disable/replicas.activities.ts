/**
 * "Removing replicas and recovery points", the storage: the replica page blobs
 * `replicas/{rg}/{vm}/{disk}` with every snapshot left on them, the journal `journal/{rg}/{vm}/…`
 * and the deltas quarantined for the VM, all in the direction's target region. Disks of a VM that
 * was failed over are copies in the `disks` container and stay. Idempotent: gone already is fine.
 */
import { deltaBlobPrefix } from '../../shared/delta';
import { replicaBlobName } from '../../shared/replication/replicaWriter';
import { CONTAINERS } from '../../shared/storageNames';
import { workflowServices } from '../../shared/workflows/services';
import type { ClaimedRef } from '../claimedJob';
import { deleteUnder } from './blobs.activities';
import { claimedItem } from './prerequisites.activities';

export async function removeReplicas(ref: ClaimedRef): Promise<{ replicas: number }> {
  const s = workflowServices(ref.direction);
  await claimedItem(ref);
  const prefix = replicaBlobName(ref.resourceGroup, ref.vm, '');
  return { replicas: await deleteUnder(s.target.getContainerClient(CONTAINERS.replicas), prefix) };
}

export async function removeJournal(ref: ClaimedRef): Promise<{ journalBlobs: number; quarantined: number }> {
  const s = workflowServices(ref.direction);
  await claimedItem(ref);
  const prefix = deltaBlobPrefix({ resourceGroup: ref.resourceGroup, vm: ref.vm });
  const [journalBlobs, quarantined] = await Promise.all([
    deleteUnder(s.target.getContainerClient(CONTAINERS.journal), prefix),
    deleteUnder(s.target.getContainerClient(CONTAINERS.quarantine), prefix),
  ]);
  return { journalBlobs, quarantined };
}
