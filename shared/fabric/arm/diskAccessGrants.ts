/**
 * Access grants on managed disks and snapshots: `beginGetAccess` gives a SAS URL to the disk's bytes
 * (a fixed VHD: the data, then a 512-byte footer), `endGetAccess` revokes it. Both are long-running
 * POSTs: ARM answers 202 with `Azure-AsyncOperation` and `Location`; the grant's result `{accessSAS}`
 * is the operation status's `properties.output`, or the body at `Location` (armLro.ts).
 *
 * The SAS URL is a secret: it is returned to the caller and never logged, nor put in an error.
 * Azure refuses a grant on a disk attached to a VM that is not deallocated (409 OperationNotAllowed):
 * snapshot the disk (snapshots.ts) and grant access on the snapshot instead.
 */
import { TidemarkError } from '../../errors';
import { API_VERSIONS } from './apiVersions';
import type { ArmContext } from './armRecords';
import { isDiskOrSnapshotId } from './snapshots';

export type DiskAccessLevel = 'Read' | 'Write';

function checkTarget(resourceId: string, what: string): void {
  if (!isDiskOrSnapshotId(resourceId)) {
    throw new TidemarkError(
      'InvalidArgument',
      `${what}: ${JSON.stringify(resourceId)} is not the id of a managed disk or snapshot.`,
      { details: { resourceId } },
    );
  }
}

/** A SAS URL to the bytes of the disk or snapshot `resourceId`, valid for `durationSeconds`. */
export async function grantAccess(
  ctx: ArmContext,
  resourceId: string,
  access: DiskAccessLevel,
  durationSeconds: number,
): Promise<string> {
  checkTarget(resourceId, 'Grant access');
  if (access !== 'Read' && access !== 'Write') {
    throw new TidemarkError(
      'InvalidArgument',
      `Grant access: access ${JSON.stringify(access)} is not Read or Write.`,
    );
  }
  if (!Number.isSafeInteger(durationSeconds) || durationSeconds <= 0) {
    throw new TidemarkError(
      'InvalidArgument',
      `Grant access: duration ${durationSeconds} is not a positive whole number of seconds.`,
    );
  }
  let result: unknown;
  try {
    result = await ctx.client.post(
      `${resourceId}/beginGetAccess`,
      API_VERSIONS.snapshots,
      { access, durationInSeconds: durationSeconds },
      { finalStateVia: 'location' },
    );
  } catch (err) {
    const armCode = err instanceof TidemarkError ? String(err.details?.armCode ?? '').toLowerCase() : '';
    if (err instanceof TidemarkError && err.code === 'Conflict' && armCode === 'operationnotallowed') {
      throw new TidemarkError('Conflict', err.message, {
        cause: err,
        details: { ...err.details, resourceId },
        hint: 'Azure does not export a disk attached to a VM that is not deallocated: take a snapshot of the disk and grant access on the snapshot, or deallocate the VM.',
      });
    }
    throw err;
  }
  const sas = (result as { accessSAS?: unknown } | undefined)?.accessSAS;
  let url: URL | undefined;
  try {
    url = typeof sas === 'string' ? new URL(sas) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    // Not the value: it may be a SAS in an unexpected shape.
    throw new TidemarkError(
      'Internal',
      `Azure granted access to ${resourceId} but answered no accessSAS URL.`,
      {
        details: { resourceId },
      },
    );
  }
  ctx.client.logger.info('ARM disk access granted', { resourceId, access, durationSeconds });
  return sas as string;
}

/** Ends every access grant on the disk or snapshot `resourceId` (its SAS URLs stop working). */
export async function revokeAccess(ctx: ArmContext, resourceId: string): Promise<void> {
  checkTarget(resourceId, 'Revoke access');
  await ctx.client.post(`${resourceId}/endGetAccess`, API_VERSIONS.snapshots);
}
