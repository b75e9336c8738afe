/**
 * "Removing the protected item": the item's row goes (ETag-checked, only while this job holds it),
 * then the VM's lock blob `locks/{rg}/{vm}`, last, because an apply or a recovery-point run that
 * still sees the item takes the lease and so makes the blob again. Idempotent: an item that is gone
 * already (an earlier attempt of this activity) is fine.
 */
import { type BlobClient, RestError } from '@azure/storage-blob';

import { isTidemarkError } from '../../shared/errors';
import { checkClaimed } from '../../shared/jobs/claims';
import { workflowServices } from '../../shared/workflows/services';
import type { ClaimedRef } from '../claimedJob';
import { deleteBlob } from './blobs.activities';

const ATTEMPTS = 5;

/** Deletes the lock blob; a lease on it now is a holder that read the item before it went, so it is broken. */
async function deleteLockBlob(blob: BlobClient): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await deleteBlob(blob);
      return;
    } catch (err) {
      const leased = err instanceof RestError && (err.statusCode === 412 || err.statusCode === 409);
      if (!leased || attempt >= ATTEMPTS) throw err;
      await blob
        .getBlobLeaseClient()
        .breakLease(0)
        .catch(() => undefined);
    }
  }
}

export async function removeItem(ref: ClaimedRef): Promise<void> {
  const s = workflowServices(ref.direction);
  for (let attempt = 1; ; attempt++) {
    const item = await s.items.get(ref.resourceGroup, ref.vm);
    if (!item) break;
    checkClaimed(item, ref, ref.jobId);
    try {
      await s.items.delete(item);
      break;
    } catch (err) {
      if (!isTidemarkError(err, 'Conflict') || attempt >= ATTEMPTS) throw err;
    }
  }
  await deleteLockBlob(s.points.locks.getBlobClient(`${ref.resourceGroup}/${ref.vm}`));
}
