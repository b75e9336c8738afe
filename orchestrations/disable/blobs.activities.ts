/**
 * Blob clean-up for disable replication: list a VM's blobs under its `{rg}/{vm}/` prefix and delete
 * them. Gone already is fine (a missing container too), so every caller is idempotent.
 */
import {
  type BlobClient,
  type BlobDeleteOptions,
  type ContainerClient,
  RestError,
} from '@azure/storage-blob';
import pLimit from 'p-limit';

const DELETE_CONCURRENCY = 16;

/** Names of the base blobs under `prefix` (no snapshots); none when the container does not exist. */
export async function listBlobNames(container: ContainerClient, prefix: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const blob of container.listBlobsFlat({ prefix })) names.push(blob.name);
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) return [];
    throw err;
  }
  return names;
}

/** Deletes a blob; false when it (or its container) was gone already. */
export async function deleteBlob(blob: BlobClient, options: BlobDeleteOptions = {}): Promise<boolean> {
  try {
    await blob.delete(options);
    return true;
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) return false;
    throw err;
  }
}

/** Deletes every blob under `prefix` (with its snapshots); returns how many this call deleted. */
export async function deleteUnder(container: ContainerClient, prefix: string): Promise<number> {
  const limit = pLimit(DELETE_CONCURRENCY);
  const names = await listBlobNames(container, prefix);
  const deleted = await Promise.all(
    names.map((name) =>
      limit(() => deleteBlob(container.getBlobClient(name), { deleteSnapshots: 'include' })),
    ),
  );
  return deleted.filter(Boolean).length;
}
