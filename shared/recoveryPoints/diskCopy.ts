/**
 * Copies a point's snapshot of one disk to a new page blob. Within one Azure storage account the
 * copy is server-side (Copy Blob from the snapshot URL: no bytes through this process); otherwise it
 * reads the snapshot's allocated page ranges and writes them, 4 MiB at a time. Azurite (any
 * path-style account URL) always gets the second: its Copy Blob gives the copy the very page-range
 * list of its source, so writing the copy (replaying the journal onto it, or a failed-over VM using
 * it) would change the recovery point's snapshot. A snapshot that is gone (pruned meanwhile) is a
 * retryable Conflict.
 */
import { type ContainerClient, type PageBlobClient, RestError } from '@azure/storage-blob';
import pLimit from 'p-limit';

import { TidemarkError } from '../errors';
import { MAX_PUT_PAGE_BYTES } from '../replication/coalesce';

export type CopyMode = 'auto' | 'server' | 'client';

const COPY_POLL_MS = 200;
const CLIENT_CONCURRENCY = 16;

/** Whether a server-side copy from `source`'s account to `target` is possible and safe. */
export function serverCopyFits(
  source: Pick<ContainerClient, 'accountName' | 'url'>,
  target: ContainerClient,
): boolean {
  const url = new URL(target.url);
  const pathStyle = url.pathname.split('/')[1] === target.accountName;
  return !pathStyle && source.accountName === target.accountName && new URL(source.url).host === url.host;
}

function snapshotGone(what: string, cause: unknown): TidemarkError {
  return new TidemarkError('Conflict', `${what} was deleted while it was being read.`, {
    cause,
    retryable: true,
    hint: 'Its recovery point was pruned meanwhile; resolve the point again.',
  });
}

export async function copySnapshot(
  source: PageBlobClient,
  target: PageBlobClient,
  sizeBytes: number,
  server: boolean,
): Promise<void> {
  try {
    if (server) {
      const poller = await target.beginCopyFromURL(source.url, { intervalInMs: COPY_POLL_MS });
      const done = await poller.pollUntilDone();
      if (done.copyStatus !== 'success') {
        throw new TidemarkError('StorageUnavailable', `Copying ${source.name} ended ${done.copyStatus}.`, {
          details: { status: done.copyStatus },
        });
      }
      return;
    }
    await copyAllocatedPages(source, target, sizeBytes);
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404)
      throw snapshotGone(`Snapshot of ${source.name}`, err);
    throw err;
  }
}

/** Only the allocated pages travel: a mostly empty disk copies fast. */
async function copyAllocatedPages(
  source: PageBlobClient,
  target: PageBlobClient,
  sizeBytes: number,
): Promise<void> {
  await target.create(sizeBytes);
  const limit = pLimit(CLIENT_CONCURRENCY);
  const writes: Promise<unknown>[] = [];
  let listing: unknown;
  try {
    for await (const range of source.listPageRanges()) {
      // A managed disk's blob ends with a VHD footer past the disk's size: not the disk's bytes.
      const end = Math.min(range.end + 1, sizeBytes);
      for (let offset = range.start; offset < end; offset += MAX_PUT_PAGE_BYTES) {
        const count = Math.min(MAX_PUT_PAGE_BYTES, end - offset);
        writes.push(
          limit(async () => target.uploadPages(await source.downloadToBuffer(offset, count), offset, count)),
        );
      }
    }
  } catch (err) {
    listing = err;
  }
  // Settle what was started before anything is reported.
  const failed = (await Promise.allSettled(writes)).find((r) => r.status === 'rejected');
  if (listing !== undefined) throw listing;
  if (failed) throw failed.reason;
}
