/**
 * Where the agent ships deltas: the cache container in the source region. The agent holds only a
 * write credential (a SAS with create and write permissions), so it never reads or lists; a delta
 * is created with If-None-Match: * so an existing blob is never overwritten.
 */
import { ContainerClient, RestError } from '@azure/storage-blob';

export type PutResult = 'created' | 'exists';

export interface DeltaSink {
  /** Creates the blob unless one of that name exists. */
  putDelta(name: string, body: Buffer, metadata: Record<string, string>): Promise<PutResult>;
  /** Writes (overwrites) a small JSON document, e.g. the agent's status. */
  putJson(name: string, value: unknown): Promise<void>;
}

export class BlobDeltaSink implements DeltaSink {
  constructor(private readonly container: ContainerClient) {}

  /** From a container URL carrying a SAS, as the enable-replication workflow hands it out. */
  static fromSasUrl(containerSasUrl: string): BlobDeltaSink {
    return new BlobDeltaSink(
      new ContainerClient(containerSasUrl, undefined, { retryOptions: { maxTries: 1 } }),
    );
  }

  async putDelta(name: string, body: Buffer, metadata: Record<string, string>): Promise<PutResult> {
    try {
      await this.container.getBlockBlobClient(name).uploadData(body, {
        metadata,
        conditions: { ifNoneMatch: '*' },
        blobHTTPHeaders: { blobContentType: 'application/vnd.tidemark.delta' },
      });
      return 'created';
    } catch (err) {
      if (err instanceof RestError && (err.statusCode === 409 || err.code === 'BlobAlreadyExists'))
        return 'exists';
      throw err;
    }
  }

  async putJson(name: string, value: unknown): Promise<void> {
    const body = Buffer.from(JSON.stringify(value));
    await this.container.getBlockBlobClient(name).uploadData(body, {
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
  }
}
