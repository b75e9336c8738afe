/**
 * The load bench's baseline for the target region: how many random 4 KiB Put Pages a second an
 * Azurite takes with nothing else running, from 32 writers spread over 16 page blobs of 64 MiB (the
 * load's replica disks are 64 MiB; its light VMs write random 4 KiB pages). Every write the VMs make
 * that the applier cannot merge with another costs one Put Page, so this bounds what any applier
 * could apply on this machine. The container is deleted after, leaving the Azurite as it found it.
 */
import crypto from 'node:crypto';

import { BlobServiceClient } from '@azure/storage-blob';

const BLOBS = 16;
const WRITERS = 32;
const BLOB_BYTES = 64 * 1024 * 1024;
const PAGE = 4096;

export async function putPageCapacity(connectionString: string, seconds: number): Promise<number> {
  const container = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(
    `capacity-${crypto.randomUUID().slice(0, 8)}`,
  );
  await container.create();
  try {
    const blobs = Array.from({ length: BLOBS }, (_, i) => container.getPageBlobClient(`disk${i}`));
    await Promise.all(blobs.map((b) => b.create(BLOB_BYTES)));
    const page = crypto.randomBytes(PAGE);
    const pages = BLOB_BYTES / PAGE;
    let done = 0;
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = 0; performance.now() < deadline; i++) {
          const blob = blobs[(w + i) % BLOBS]!;
          await blob.uploadPages(page, crypto.randomInt(pages) * PAGE, PAGE);
          done++;
        }
      }),
    );
    return done / ((performance.now() - t0) / 1000);
  } finally {
    await container.delete().catch(() => undefined);
  }
}
