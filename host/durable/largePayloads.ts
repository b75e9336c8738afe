/**
 * Payloads too big for a table property (64 KiB) or a queue message (64 KiB) live as blobs in
 * `{hub}-largemessages`, one folder per instance, so purging an instance removes them too.
 */
import crypto from 'node:crypto';

import type { ContainerClient } from '@azure/storage-blob';

import { escapeKey } from './tableKeys';

/** Table string properties hold 32K UTF-16 characters; stay well below. */
export const MAX_INLINE_CHARS = 30_000;
/** Queue messages hold 64 KiB of XML-escaped text; stay well below. */
export const MAX_INLINE_MESSAGE_BYTES = 32 * 1024;

export class LargePayloads {
  constructor(private readonly container: ContainerClient) {}

  async store(instanceId: string, kind: string, text: string): Promise<string> {
    const name = `${escapeKey(instanceId)}/${kind}-${crypto.randomUUID()}.json`;
    await this.container.getBlockBlobClient(name).upload(text, Buffer.byteLength(text), {
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
    return name;
  }

  async load(name: string): Promise<string> {
    const buffer = await this.container.getBlockBlobClient(name).downloadToBuffer();
    return buffer.toString('utf8');
  }

  async deleteForInstance(instanceId: string): Promise<void> {
    const prefix = `${escapeKey(instanceId)}/`;
    for await (const blob of this.container.listBlobsFlat({ prefix })) {
      await this.container.deleteBlob(blob.name, { deleteSnapshots: 'include' }).catch(() => undefined);
    }
  }

  /** Moves over-long string fields of a table entity into blobs (`<Field>BlobName` columns). */
  async packFields(
    instanceId: string,
    entity: Record<string, unknown>,
    fields: readonly string[],
  ): Promise<void> {
    await Promise.all(
      fields.map(async (field) => {
        const value = entity[field];
        if (typeof value === 'string' && value.length > MAX_INLINE_CHARS) {
          entity[`${field}BlobName`] = await this.store(instanceId, field.toLowerCase(), value);
          entity[field] = '';
        } else {
          entity[`${field}BlobName`] = '';
        }
      }),
    );
  }

  /** Restores fields packed by packFields. */
  async unpackFields(entity: Record<string, unknown>, fields: readonly string[]): Promise<void> {
    await Promise.all(
      fields.map(async (field) => {
        const blob = entity[`${field}BlobName`];
        if (typeof blob === 'string' && blob) entity[field] = await this.load(blob);
      }),
    );
  }
}
