/**
 * Runs one BlobTriggerMessage (SDKNET `BlobQueueTriggerExecutor.cs`): the blob is read and its ETag
 * compared with the queued one; a blob deleted since is skipped, and so is one changed since (its new
 * version has its own receipt and message). The function gets the content as bytes and the binding
 * data contract as triggerMetadata. The caller applies the returned decision to the queue message.
 * tidemark's addition: the receipt of a version found gone (skipped here, or deleted or overwritten by
 * the time the function returns) is deleted, so receipts do not pile up in the host's account.
 */
import type { BlobClient, BlobDownloadResponseParsed } from '@azure/storage-blob';

import type { Logger } from '../../../shared/logger';
import type { HostServices } from '../../plugin';
import { type BlobTriggerConfig, retryDelaySeconds } from './config';
import type { ReceivedMessage } from './hostQueue';
import { type BlobTriggerMessage, decodeMessage, normalizeETag, storageError } from './messages';
import type { Receipts } from './receipts';
import type { BlobFunction } from './registry';
import { type BlobFacts, blobTriggerData } from './triggerData';

/** Messages queued up to this long after start count as older (Last-Modified style rounding). */
const STARTUP_MARGIN_MS = 2_000;

export type Decision =
  /** `alongside` is receipt work that may run while the message is deleted; it never rejects. */
  | { action: 'delete'; alongside?: Promise<void> }
  | { action: 'retry'; delaySeconds: number }
  | { action: 'poison' };

type Download =
  { state: 'ok'; content: Buffer; facts: BlobFacts } | { state: 'missing' } | { state: 'changed' };

async function readStream(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  if (stream) for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

function factsOf(res: BlobDownloadResponseParsed): BlobFacts {
  // The response exposes its fields as getters, so copy them one by one.
  return {
    contentLength: res.contentLength,
    contentType: res.contentType,
    contentEncoding: res.contentEncoding,
    contentLanguage: res.contentLanguage,
    contentDisposition: res.contentDisposition,
    cacheControl: res.cacheControl,
    contentMD5: res.blobContentMD5 ?? res.contentMD5,
    etag: res.etag,
    lastModified: res.lastModified,
    createdOn: res.createdOn,
    blobType: res.blobType,
    leaseState: res.leaseState,
    leaseStatus: res.leaseStatus,
    leaseDuration: res.leaseDuration,
    isServerEncrypted: res.isServerEncrypted,
    versionId: res.versionId,
    metadata: res.metadata,
  };
}

/**
 * Reads the queued version of the blob with one unconditional GET. Its answer carries the ETag of the
 * bytes it returns, so a blob changed since it was queued is told by that ETag and a deleted one by
 * the 404. (A read with If-Match on the queued ETag would need a second call to tell the two apart:
 * Azurite answers it with 412 for a missing blob too, and most blobs of a busy trigger, deleted by
 * their function before their message comes up, would pay for it.) The body of a changed blob is
 * not read.
 */
async function downloadVersion(blob: BlobClient, etag: string): Promise<Download> {
  let res: BlobDownloadResponseParsed;
  try {
    res = await blob.download();
  } catch (err) {
    if (storageError(err).status === 404) return { state: 'missing' };
    throw err;
  }
  if (normalizeETag(res.etag) !== etag) {
    (res.readableStreamBody as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined)?.destroy?.();
    return { state: 'changed' };
  }
  const content = await readStream(res.readableStreamBody);
  return { state: 'ok', content, facts: factsOf(res) };
}

/** Whether the queued version is gone (one HEAD): the blob deleted, or overwritten (other ETag). */
async function versionGone(blob: BlobClient, etag: string): Promise<boolean> {
  try {
    return normalizeETag((await blob.getProperties()).etag) !== etag;
  } catch (err) {
    if (storageError(err).status === 404) return true;
    throw err;
  }
}

function errorText(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

export class BlobExecutor {
  readonly #functions: Map<string, BlobFunction>;
  readonly #running = new Map<string, Promise<void>>();
  /** Storage time at start; until known, every message pays for the receipt lookup. */
  #startedAt = Infinity;

  constructor(
    functions: readonly BlobFunction[],
    private readonly receipts: Receipts,
    private readonly services: HostServices,
    private readonly config: BlobTriggerConfig,
    private readonly logger: Logger,
  ) {
    this.#functions = new Map(functions.map((bf) => [bf.functionId, bf]));
  }

  /** Storage time when the host started (from the host queue's response). */
  started(storageTime: Date | undefined): void {
    this.#startedAt = storageTime ? storageTime.getTime() : Infinity;
  }

  async execute(received: ReceivedMessage): Promise<Decision> {
    const message = decodeMessage(received.text);
    if (!message) {
      this.logger.error('Malformed BlobTriggerMessage; moved to the poison queue', { text: received.text });
      return { action: 'poison' };
    }
    const bf = this.#functions.get(message.FunctionId);
    const blob = `${message.ContainerName}/${message.BlobName}`;
    if (!bf) {
      this.logger.warn('BlobTriggerMessage for a function this app does not have; deleted', {
        functionId: message.FunctionId,
        blob,
      });
      return { action: 'delete' };
    }
    if (received.dequeueCount > this.config.poisonBlobThreshold) {
      this.logger.error(`Blob '${blob}' exceeded ${this.config.poisonBlobThreshold} attempts; poisoned`, {
        function: bf.name,
        dequeueCount: received.dequeueCount,
      });
      return { action: 'poison' };
    }
    // A second message for a version being run here (queued twice) waits, then finds it processed.
    const key = this.receipts.name(message);
    let waited = false;
    for (let other = this.#running.get(key); other; other = this.#running.get(key)) {
      waited = true;
      await other;
    }
    const run = this.#run(bf, message, received, waited);
    // Others wait for the success mark too, not only for the invocation.
    const settled = run.then(
      (d) => (d.action === 'delete' ? d.alongside : undefined),
      () => undefined,
    );
    this.#running.set(key, settled);
    try {
      return await run;
    } finally {
      void settled.finally(() => {
        if (this.#running.get(key) === settled) this.#running.delete(key);
      });
    }
  }

  /**
   * Whether the version may already have run from another message: one that waited for a run of the
   * same version here, one delivered before (redelivery),
   * one queued before this host started (a crash may have left a twin), or one whose receipt was
   * taken over (re-queued). Only these pay for the receipt lookup; a message this instance queued
   * through a fresh receipt is the only one for its version.
   */
  #mayBeTwin(message: BlobTriggerMessage, received: ReceivedMessage, waited: boolean): boolean {
    return (
      waited ||
      received.dequeueCount > 1 ||
      !(received.insertedOn?.getTime() >= this.#startedAt + STARTUP_MARGIN_MS) ||
      this.receipts.tookOver(message)
    );
  }

  /** Deletes the receipt of a version found gone; a failure only costs a leftover receipt. */
  async #forget(message: BlobTriggerMessage, blob: string): Promise<void> {
    try {
      await this.receipts.delete(message);
    } catch (err) {
      this.logger.warn('Could not delete the blob receipt of a version that is gone', {
        blob,
        eTag: message.ETag,
        err: errorText(err),
      });
    }
  }

  /**
   * After a success: one HEAD tells whether the version is still there. Gone (the function deleted
   * or overwrote its blob), its receipt is deleted; otherwise it is marked Processed. If the check
   * fails it is marked as before: a leftover receipt is cheaper than a second run.
   */
  async #recordSuccess(client: BlobClient, message: BlobTriggerMessage, blob: string): Promise<void> {
    let gone = false;
    try {
      gone = await versionGone(client, message.ETag);
    } catch (err) {
      this.logger.warn('Could not check whether the blob still exists; marking its receipt processed', {
        blob,
        err: errorText(err),
      });
    }
    if (gone) return this.#forget(message, blob);
    try {
      // A receipt created here (it was missing) for a version that went meanwhile would leak.
      if (
        (await this.receipts.markProcessed(message)) === 'created' &&
        (await versionGone(client, message.ETag))
      ) {
        await this.receipts.delete(message);
      }
    } catch (err) {
      this.logger.warn('Could not mark the blob receipt processed', { blob, err: errorText(err) });
    }
  }

  async #run(
    bf: BlobFunction,
    message: BlobTriggerMessage,
    received: ReceivedMessage,
    waited: boolean,
  ): Promise<Decision> {
    const blob = `${message.ContainerName}/${message.BlobName}`;
    const client = bf.account.blob.getContainerClient(message.ContainerName).getBlobClient(message.BlobName);
    const [processed, download] = await Promise.all([
      this.#mayBeTwin(message, received, waited) ? this.receipts.isProcessed(message) : false,
      downloadVersion(client, message.ETag),
    ]);
    // The queued version is gone for good (a new upload gets a new ETag): so is its receipt.
    const alongside = download.state === 'ok' ? undefined : this.#forget(message, blob);
    if (processed) {
      this.logger.debug('Blob version already processed; message dropped', { function: bf.name, blob });
      return { action: 'delete', alongside };
    }
    if (download.state === 'missing') {
      this.logger.info(`Blob '${blob}' no longer exists; skipped '${bf.name}'`, { eTag: message.ETag });
      return { action: 'delete', alongside };
    }
    if (download.state === 'changed') {
      this.logger.info(`Blob '${blob}' changed since it was queued; the new version triggers on its own`, {
        function: bf.name,
        eTag: message.ETag,
      });
      return { action: 'delete', alongside };
    }
    const params = bf.path.match(message.BlobName);
    if (!params) {
      this.logger.warn(
        `Blob '${blob}' does not match the path of '${bf.name}' (${bf.path.pattern}); skipped`,
      );
      return { action: 'delete' };
    }
    const data = blobTriggerData(
      message.ContainerName,
      message.BlobName,
      client.url,
      message.ETag,
      download.facts,
      params,
    );
    const outcome = await this.services.invoker.invoke(bf.fn, {
      triggerData: { bytes: download.content },
      triggerMetadata: data.triggerMetadata,
      bindingData: data.bindingData,
      logFields: { blob, eTag: message.ETag, dequeueCount: received.dequeueCount },
    });
    if (outcome.ok) {
      // Deleting the message and recording the success may go in either order: a crash between them
      // leaves no message, or a message whose receipt marks it done or whose blob is gone.
      return { action: 'delete', alongside: this.#recordSuccess(client, message, blob) };
    }
    if (received.dequeueCount >= this.config.poisonBlobThreshold) {
      this.logger.error(
        `'${bf.name}' failed ${received.dequeueCount} times on blob '${blob}'; ` +
          'message moved to webjobs-blobtrigger-poison',
        { function: bf.name, eTag: message.ETag },
      );
      return { action: 'poison' };
    }
    const delaySeconds = retryDelaySeconds(this.config, received.dequeueCount);
    this.logger.warn(`'${bf.name}' failed on blob '${blob}'; retrying in ${delaySeconds} s`, {
      dequeueCount: received.dequeueCount,
      poisonBlobThreshold: this.config.poisonBlobThreshold,
    });
    return { action: 'retry', delaySeconds };
  }
}
