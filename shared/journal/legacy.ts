/**
 * Journals written before segments kept one block blob per delta under its cache name (`….delta`);
 * readers still read them (docs/delta-format.md, "Legacy journals").
 */
import { type ContainerClient, RestError } from '@azure/storage-blob';

/** A legacy per-delta journal blob's bytes, or undefined when it is not there (never was, or pruned). */
export async function readLegacyDelta(
  journal: ContainerClient,
  blobName: string,
): Promise<Buffer | undefined> {
  try {
    return await journal.getBlobClient(blobName).downloadToBuffer();
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) return undefined;
    throw err;
  }
}
