/**
 * Polls one watched container (shared by every blob function on the same account and container),
 * like ScanBlobScanLogHybridPollingStrategy but every `pollIntervalMs` instead of 10 s: a flat
 * listing with the functions' common literal prefix. Metadata is left out of the listing: it makes
 * Azurite's listing ~60% dearer, and the executor reads it with the content anyway. A cursor on
 * LastModified skips blobs already looked at; the comparison is `>=` and the cursor trails the newest
 * blob by SCAN_OVERLAP_MS, since Last-Modified has one-second resolution. The cursor never moves past
 * a blob whose registration failed or is busy elsewhere, and the first scan after start is a full
 * one. The cursor is only an optimisation: receipts decide what fires.
 */
import type { Clock } from '../../../shared/clock';
import type { Logger } from '../../../shared/logger';
import type { StorageAccount } from '../../storage';
import { type BlobTriggerConfig, SCAN_OVERLAP_MS } from './config';
import { type BlobTriggerMessage, normalizeETag, storageError, toBlobType } from './messages';
import type { Receipts } from './receipts';
import type { BlobFunction } from './registry';
import { Wakeup } from './wake';

export interface ScanGroup {
  readonly account: StorageAccount;
  readonly container: string;
  readonly functions: readonly BlobFunction[];
}

interface Candidate {
  message: BlobTriggerMessage;
  key: string;
  lastModified: number;
}

const REGISTER_CONCURRENCY = 32;

/** Groups functions by account and container so one listing serves them all. */
export function scanGroups(functions: readonly BlobFunction[]): ScanGroup[] {
  const groups = new Map<string, { account: StorageAccount; container: string; functions: BlobFunction[] }>();
  for (const bf of functions) {
    const key = `${bf.account.connectionString}\n${bf.path.container}`;
    let group = groups.get(key);
    if (!group)
      groups.set(key, (group = { account: bf.account, container: bf.path.container, functions: [] }));
    group.functions.push(bf);
  }
  return [...groups.values()];
}

function commonPrefix(values: string[]): string {
  let prefix = values[0] ?? '';
  for (const v of values) while (!v.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}

export class ContainerScanner {
  readonly #prefix: string;
  #cursor = -Infinity;
  #first = true;
  #failures = 0;
  /** Receipt names known complete, with the blob's LastModified (pruned as the cursor moves). */
  readonly #seen = new Map<string, number>();
  /** Versions being registered or whose registration failed: the cursor stays at or before them. */
  readonly #unsettled = new Map<string, number>();
  readonly #inFlight = new Map<string, Promise<void>>();
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  #stop?: AbortSignal;

  constructor(
    private readonly group: ScanGroup,
    private readonly receipts: Receipts,
    private readonly config: BlobTriggerConfig,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.#prefix = commonPrefix(group.functions.map((f) => f.path.prefix));
  }

  async run(stop: AbortSignal): Promise<void> {
    this.#stop = stop;
    stop.addEventListener('abort', () => this.#waiting.splice(0).forEach((go) => go()), { once: true });
    const wake = new Wakeup(this.clock, stop);
    while (!stop.aborted) {
      const started = this.clock.now();
      try {
        await this.scanOnce();
        if (this.#failures > 0) this.logger.info('Blob scan recovered', { container: this.group.container });
        this.#failures = 0;
      } catch (err) {
        if (this.#failures++ % 40 === 0) {
          this.logger.warn('Blob scan failed; retrying', {
            container: this.group.container,
            err: (err as Error)?.message ?? String(err),
          });
        }
      }
      // Fixed rate, but a container so large that listing it is slow is listed at most a quarter
      // of the time, so scanning never saturates the storage emulator.
      const elapsed = this.clock.now() - started;
      await wake.wait(Math.max(this.config.pollIntervalMs - elapsed, elapsed * 3));
    }
    await this.settled();
  }

  /**
   * One pass over the container: starts registering every matching blob version not known to be
   * queued. Registrations run in the background (at most REGISTER_CONCURRENCY at once), so a slow
   * storage call never delays the next listing; the cursor waits for them instead.
   */
  async scanOnce(): Promise<void> {
    const { account, container, functions } = this.group;
    const known = this.#first ? await this.#completeReceipts() : undefined;
    let newest = -Infinity;
    const listed = new Set<string>();
    const pages = account.blob
      .getContainerClient(container)
      .listBlobsFlat({ prefix: this.#prefix || undefined })
      .byPage({ maxPageSize: 5000 });
    try {
      for await (const page of pages) {
        for (const item of page.segment.blobItems) {
          const lastModified = item.properties.lastModified.getTime();
          if (lastModified < this.#cursor) continue;
          newest = Math.max(newest, lastModified);
          for (const bf of functions) {
            if (!bf.path.match(item.name)) continue;
            const message: BlobTriggerMessage = {
              Type: 'BlobTrigger',
              FunctionId: bf.functionId,
              BlobType: toBlobType(item.properties.blobType),
              ContainerName: container,
              BlobName: item.name,
              ETag: normalizeETag(item.properties.etag),
            };
            const key = this.receipts.name(message);
            listed.add(key);
            if (this.#seen.has(key) || known?.has(key)) this.#seen.set(key, lastModified);
            else if (!this.#inFlight.has(key)) this.#register({ message, key, lastModified });
          }
        }
      }
    } catch (err) {
      if (storageError(err).status !== 404) throw err;
      this.logger.debug('Watched container does not exist (yet)', { container });
    }
    // A version that failed to register and is gone (deleted, overwritten) no longer holds the cursor.
    let unsettled = Infinity;
    for (const [key, lastModified] of this.#unsettled) {
      if (listed.has(key) || this.#inFlight.has(key)) unsettled = Math.min(unsettled, lastModified);
      else this.#unsettled.delete(key);
    }
    if (newest > -Infinity) {
      this.#cursor = Math.max(this.#cursor, Math.min(newest, unsettled) - SCAN_OVERLAP_MS);
    }
    for (const [key, lastModified] of this.#seen) if (lastModified < this.#cursor) this.#seen.delete(key);
    this.#first = false;
  }

  /** Resolves once every registration started so far has settled. */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight.values());
  }

  #register(c: Candidate): void {
    this.#unsettled.set(c.key, c.lastModified);
    const task = this.#registerOne(c).finally(() => this.#inFlight.delete(c.key));
    this.#inFlight.set(c.key, task);
  }

  async #registerOne(c: Candidate): Promise<void> {
    if (this.#active >= REGISTER_CONCURRENCY) await new Promise<void>((go) => this.#waiting.push(go));
    if (this.#stop?.aborted) return;
    this.#active++;
    try {
      const result = await this.receipts.register(c.message);
      if (result === 'busy') return; // someone else is queuing it; look again next scan
      this.#unsettled.delete(c.key);
      this.#seen.set(c.key, c.lastModified);
      if (result === 'queued') {
        this.logger.debug('Blob version queued', {
          function: c.message.FunctionId,
          blob: c.message.BlobName,
        });
      }
    } catch (err) {
      this.logger.warn('Could not register a blob receipt; retrying on the next scan', {
        function: c.message.FunctionId,
        blob: `${this.group.container}/${c.message.BlobName}`,
        err: (err as Error)?.message ?? String(err),
      });
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }

  async #completeReceipts(): Promise<Set<string>> {
    const all = new Set<string>();
    for (const bf of this.group.functions) {
      for (const name of await this.receipts.listComplete(bf.functionId)) all.add(name);
    }
    return all;
  }
}
