/**
 * "Removing replicas and recovery points", the source side: the VM's deltas and its agent's status
 * (`cache/{rg}/{vm}/…`) in the cache of the direction's source region. That region may be down;
 * then nothing is removed and the job warns. Idempotent: gone already is fine.
 */
import { deltaBlobPrefix } from '../../shared/delta';
import { CONTAINERS } from '../../shared/storageNames';
import type { ClaimedRef } from '../claimedJob';
import { deleteUnder } from './blobs.activities';
import { claimedItem } from './prerequisites.activities';
import { inSource } from './source.activities';
import type { SourceOutcome } from './types';

export async function removeCache(ref: ClaimedRef): Promise<SourceOutcome<{ cacheBlobs: number }>> {
  await claimedItem(ref);
  const prefix = deltaBlobPrefix({ resourceGroup: ref.resourceGroup, vm: ref.vm });
  return inSource(ref.direction, async (source) => ({
    cacheBlobs: await deleteUnder(source.getContainerClient(CONTAINERS.cache), prefix),
  }));
}
