/**
 * Blob receipts (SDKNET `BlobReceiptManager.cs`): one zero-byte blob per function and blob version,
 * `azure-webjobs-hosts/blobreceipts/{hostId}/{functionId}/{ETag}/{container}/{blobName}`, in the host's
 * account. Registering a version:
 *   1. create the receipt with If-None-Match:* and metadata Incomplete=Incomplete; if it exists, a
 *      receipt without `Incomplete` means the version was queued already: nothing to do;
 *   2. queue the BlobTriggerMessage on the host queue;
 *   3. mark the receipt complete (remove `Incomplete`).
 * The real host takes a 30 s lease between 1 and 2 so no other instance re-queues the version
 * meanwhile. tidemark's creator skips that lease (two storage calls fewer per blob) and records its
 * instance id on the receipt instead; an incomplete receipt of another instance is taken over, under
 * a lease as in the real host, only once it is 30 s old: when that lease would have expired.
 * Incomplete receipts without an id (the real host's) or with our own (a failed attempt) are taken
 * over at once. So a crash after 1 leaves an incomplete receipt that a later scan finishes (re-queues), and
 * a crash after 2 leaves the message, which the dispatcher runs.
 * tidemark adds two things. After a successful invocation the receipt gets `Processed=<time>`, and
 * a message whose receipt says so is dropped, so a message queued twice (crash between 2 and 3) or
 * redelivered after the function succeeded does not fire the version again. And the executor deletes
 * the receipt of a version it finds gone (blob deleted or overwritten): the real host keeps receipts
 * forever, but Azurite's per-request cost grows with the blobs in the account. A gone version never
 * comes back (a new upload has a new ETag), so whatever re-creates its receipt later (a stale
 * listing, a late event) only queues a message that finds the blob gone and deletes the receipt again.
 */
import crypto from 'node:crypto';

import type { BlobGetPropertiesResponse, BlockBlobClient, ContainerClient } from '@azure/storage-blob';

import type { Clock } from '../../../shared/clock';
import type { StorageAccount } from '../../storage';
import { RECEIPT_LEASE_SECONDS } from './config';
import type { HostQueue } from './hostQueue';
import { type BlobTriggerMessage, HOSTS_CONTAINER, storageError } from './messages';

export type RegisterResult = 'queued' | 'known' | 'busy';

/** How often a write waits for a lease another registration holds (25 ms, 50 ms …: ~5 s in all). */
const LEASE_WAITS = 20;

/** Metadata naming the host instance that created an incomplete receipt (tidemark's addition). */
const OWNER = 'TidemarkInstance';

function valueOf(metadata: Record<string, string> | undefined, key: string): string | undefined {
  const found = Object.keys(metadata ?? {}).find((k) => k.toLowerCase() === key.toLowerCase());
  return found === undefined ? undefined : metadata?.[found];
}

function hasKey(metadata: Record<string, string> | undefined, key: string): boolean {
  return valueOf(metadata, key) !== undefined;
}

export class Receipts {
  readonly #container: ContainerClient;
  readonly #pending = new Map<string, Promise<RegisterResult>>();
  readonly #instance = crypto.randomUUID();
  /** Receipts this instance took over: a message for them may have a twin. */
  readonly #tookOver = new Set<string>();

  constructor(
    hostAccount: StorageAccount,
    private readonly hostId: string,
    private readonly queue: HostQueue,
    private readonly clock: Clock,
    /** Called right after a message is queued (wakes the dispatcher). */
    private readonly onQueued: () => void,
  ) {
    this.#container = hostAccount.blob.getContainerClient(HOSTS_CONTAINER);
  }

  async ensure(): Promise<void> {
    await this.#container.createIfNotExists();
  }

  prefix(functionId: string): string {
    return `blobreceipts/${this.hostId}/${functionId}/`;
  }

  name(m: Pick<BlobTriggerMessage, 'FunctionId' | 'ETag' | 'ContainerName' | 'BlobName'>): string {
    return `${this.prefix(m.FunctionId)}${m.ETag}/${m.ContainerName}/${m.BlobName}`;
  }

  /** Names of a function's complete receipts (one listing instead of one lookup per blob at startup). */
  async listComplete(functionId: string): Promise<Set<string>> {
    const names = new Set<string>();
    const pages = this.#container
      .listBlobsFlat({ prefix: this.prefix(functionId), includeMetadata: true })
      .byPage({ maxPageSize: 5000 });
    for await (const page of pages) {
      for (const item of page.segment.blobItems) {
        if (!hasKey(item.metadata, 'Incomplete')) names.add(item.name);
      }
    }
    return names;
  }

  /** Makes sure the version is on the host queue exactly once; concurrent calls share one attempt. */
  register(message: BlobTriggerMessage): Promise<RegisterResult> {
    const name = this.name(message);
    let attempt = this.#pending.get(name);
    if (!attempt) {
      attempt = this.#register(name, message, /* canRetry */ true).finally(() => this.#pending.delete(name));
      this.#pending.set(name, attempt);
    }
    return attempt;
  }

  async #register(name: string, message: BlobTriggerMessage, canRetry: boolean): Promise<RegisterResult> {
    const blob = this.#container.getBlockBlobClient(name);
    let created: string | undefined;
    try {
      const res = await blob.upload('', 0, {
        conditions: { ifNoneMatch: '*' },
        metadata: { Incomplete: 'Incomplete', [OWNER]: this.#instance },
      });
      created = res.etag;
    } catch (err) {
      const { status } = storageError(err);
      if (status !== 409 && status !== 412) throw err;
    }
    if (created === undefined) return this.#takeOver(name, blob, message, canRetry);
    // The receipt is ours; other instances leave it alone for RECEIPT_LEASE_SECONDS (see #takeOver).
    await this.queue.send(message);
    this.onQueued();
    try {
      await blob.setMetadata({}, { conditions: { ifMatch: created } });
    } catch (err) {
      // 412: the function already ran and marked it Processed, which completes it too. 404 (Azurite
      // says 412): the message found the version gone and deleted the receipt, which must stay so.
      const { status } = storageError(err);
      if (status !== 412 && status !== 404) throw err;
    }
    return 'queued';
  }

  /** Finishes an incomplete receipt left by a crash (or a failed attempt), under a lease. */
  async #takeOver(
    name: string,
    blob: BlockBlobClient,
    message: BlobTriggerMessage,
    canRetry: boolean,
  ): Promise<RegisterResult> {
    // The receipt may be deleted (its version found gone) between our create and these reads: then
    // register afresh, once; the message it queues finds the version gone and deletes it again.
    const vanished = async (err: unknown): Promise<RegisterResult> => {
      if (storageError(err).status !== 404 || !canRetry) throw err;
      return this.#register(name, message, false);
    };
    let props: BlobGetPropertiesResponse;
    try {
      props = await blob.getProperties();
    } catch (err) {
      return vanished(err);
    }
    if (!hasKey(props.metadata, 'Incomplete')) return 'known';
    const owner = valueOf(props.metadata, OWNER);
    if (owner && owner !== this.#instance && props.lastModified) {
      const age = (props.date ?? new Date(this.clock.now())).getTime() - props.lastModified.getTime();
      if (age < RECEIPT_LEASE_SECONDS * 1000) return 'busy'; // its creator may still be queuing it
    }
    const lease = blob.getBlobLeaseClient();
    let leased: { etag?: string };
    try {
      leased = await lease.acquireLease(RECEIPT_LEASE_SECONDS);
    } catch (err) {
      if (storageError(err).status === 409) return 'busy';
      return vanished(err);
    }
    try {
      // Someone may have finished the receipt between our read and our lease: the ETag tells.
      if (leased.etag !== props.etag && !hasKey((await blob.getProperties()).metadata, 'Incomplete')) {
        return 'known';
      }
      this.#tookOver.add(name);
      await this.queue.send(message);
      this.onQueued();
      await blob.setMetadata({}, { conditions: { leaseId: lease.leaseId } });
      return 'queued';
    } finally {
      await lease.releaseLease().catch(() => undefined);
    }
  }

  /** Whether this instance re-queued the version after taking its receipt over. */
  tookOver(message: BlobTriggerMessage): boolean {
    return this.#tookOver.has(this.name(message));
  }

  /** Whether a successful invocation already recorded this version. */
  async isProcessed(message: BlobTriggerMessage): Promise<boolean> {
    try {
      const props = await this.#container.getBlockBlobClient(this.name(message)).getProperties();
      return hasKey(props.metadata, 'Processed');
    } catch (err) {
      if (storageError(err).status === 404) return false;
      throw err;
    }
  }

  /**
   * Records a successful invocation of a version that still exists; waits briefly for a
   * registration still holding the lease. Without a receipt (a message queued by hand, receipts
   * wiped) it creates a processed one, so no scan fires the version again; 'created' tells the
   * caller to check the blob once more, since a receipt created for a version gone meanwhile leaks.
   */
  markProcessed(message: BlobTriggerMessage): Promise<'marked' | 'created'> {
    const blob = this.#container.getBlockBlobClient(this.name(message));
    const metadata = { Processed: new Date(this.clock.now()).toISOString() };
    return this.#pastLease(async () => {
      try {
        await blob.setMetadata(metadata);
        return 'marked';
      } catch (err) {
        if (storageError(err).status !== 404) throw err;
      }
      // 409/412 if a registration created it meanwhile: marked on the next attempt.
      await blob.upload('', 0, { conditions: { ifNoneMatch: '*' }, metadata });
      return 'created';
    });
  }

  /** Deletes the receipt of a version that is gone (tidemark's addition; see the header). */
  async delete(message: BlobTriggerMessage): Promise<void> {
    const blob = this.#container.getBlockBlobClient(this.name(message));
    await this.#pastLease(() => blob.deleteIfExists());
  }

  /**
   * Runs a write on a receipt again while it fails with 412 or 409: a takeover holds its lease for
   * a moment (LeaseIdMissing), or a registration just created it.
   */
  async #pastLease<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        const { status } = storageError(err);
        if ((status !== 412 && status !== 409) || attempt >= LEASE_WAITS) throw err;
        await this.clock.sleep(25 * (attempt + 1));
      }
    }
  }
}
