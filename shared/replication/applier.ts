/**
 * The applier: turns a VM's deltas in the cache into writes on its replica disks, strictly in
 * sequence order, exactly once in effect.
 *
 *   delta N arrives ─▶ N ≤ watermark? ──yes──▶ drop (already applied and journaled): delete from cache
 *                        │no
 *                        ▼
 *                      N > watermark+1? ──yes──▶ wait (applied when N-1 lands)
 *                        │no
 *                        ▼
 *   take VM lease ─▶ for M = watermark+1 while the cache has M (a pipeline, see #drainHeld):
 *                      download, decode + verify ─bad─▶ quarantine, item ResyncRequired, stop
 *                      ─▶ copy to journal (started at once) ┐
 *                      batch M..N ─▶ coalesce ─▶ Put Page / Clear Pages on replicas ┴▶
 *                      ─▶ watermark = N (ETag check) ─▶ delete M..N from cache (not waited for)
 *                  ─▶ release lease ─▶ if watermark+1 is now in the cache, go again
 *
 * A crash anywhere before the watermark moves re-applies the same deltas later, which is harmless:
 * they hold the same bytes for the same pages, and nothing after them has been written.
 */
import { type ContainerClient, RestError } from '@azure/storage-blob';
import pLimit from 'p-limit';

import type { Clock } from '../clock';
import { decodeDelta, type Delta, deltaBlobName, parseDeltaBlobName } from '../delta';
import { MAX_HEADER_BYTES } from '../delta/constants';
import { checkMaxBytes } from '../delta/headerChecks';
import { isTidemarkError, TidemarkError } from '../errors';
import { type JournalAppender, JournalWriter, MAX_FRAME_DELTA_BYTES } from '../journal';
import type { Logger } from '../logger';
import { isReplicating, type ProtectedItem, type ProtectedItemStore } from '../protectedItems';
import { assessHealth } from '../recoveryPoints/health';
import { coalesce } from './coalesce';
import { checkEntries, writePages } from './replicaWriter';
import { Stager } from './stager';
import { nextStats } from './stats';
import { VmLocks } from './vmLease';

export interface ApplierStores {
  /** Source region: deltas awaiting apply. */
  cache: ContainerClient;
  /** Target region. */
  replicas: ContainerClient;
  /** Applied deltas, one append-blob segment per 256 sequences (shared/journal). */
  journal: ContainerClient;
  quarantine: ContainerClient;
  locks: ContainerClient;
  items: ProtectedItemStore;
}

export type ApplyResult =
  | { outcome: 'applied'; applied: number; watermark: number }
  | {
      outcome: 'duplicate' | 'waiting' | 'notReady' | 'busy' | 'ignored';
      watermark?: number;
      reason?: string;
    }
  | { outcome: 'quarantined'; sequence: number; reason: string };

/** Consecutive deltas applied together at most (when the replica is behind). */
const MAX_BATCH_DELTAS = 16;
const MAX_BATCH_BYTES = 64 * 1024 * 1024;
/** Deltas downloaded from the cache at a time. */
const DOWNLOAD_CONCURRENCY = 4;
/** Deltas staged (downloaded, checked, journaling) ahead of the batch being written, at most. */
const MAX_AHEAD_DELTAS = 2 * MAX_BATCH_DELTAS;
/**
 * Bytes of deltas held at once: the batch being written and those staged for the next ones (a
 * single delta larger than this is still taken, alone). With the batch's coalesced runs (at most
 * its size again) the applier holds at most about 192 MiB of delta data per VM.
 */
const MAX_HELD_BYTES = 2 * MAX_BATCH_BYTES;
/** A batch whose writes average less than this waits for the next delta if it is downloading… */
const SMALL_WRITE_BYTES = 1024 * 1024;
/** …or, with at least this many writes (seconds of Put Pages), while it is looked for. */
const MANY_WRITES = 256;
/** Journal copies uploading at a time. */
const JOURNAL_CONCURRENCY = 8;
/**
 * The largest delta accepted by default: the agent's largest (64 MiB) and its headers, with room;
 * also the largest a journal frame holds (80 MiB), so every delta accepted can be journaled.
 */
const DEFAULT_MAX_DELTA_BYTES = MAX_FRAME_DELTA_BYTES;

/**
 * A delta blob as downloaded: its bytes, or, for a blob over maxDeltaBytes, only its length and
 * first bytes (never more is read, so a huge blob in the cache costs no memory; it is quarantined).
 */
type Downloaded = Buffer | { oversized: number; head: Buffer };

interface PendingDelta {
  sequence: number;
  blobName: string;
  body: Buffer;
  delta: Delta;
  /** Its copy to the journal, started as soon as it was checked; the watermark waits for it. */
  journaled: Promise<unknown>;
}

/** A delta as the stager hands it to the writer: good, bad (quarantine), or flagged by the agent. */
type Staged =
  | { kind: 'good'; pending: PendingDelta }
  | { kind: 'bad'; sequence: number; blobName: string; body: Buffer; error: TidemarkError }
  | { kind: 'lostWrites'; sequence: number; blobName: string; body: Buffer };

interface DrainRound {
  applied: number;
  watermark: number;
  generation: number;
  /** Set when draining must end with this result (quarantine, item not ready). */
  stop?: ApplyResult;
}

export interface AppliedDelta {
  item: ProtectedItem;
  delta: Delta;
}

export interface ApplierOptions {
  clock: Clock;
  logger: Logger;
  /** How long to wait for another applier holding the VM's lease. */
  leaseWaitMs?: number;
  /** Largest delta accepted (bytes). */
  maxDeltaBytes?: number;
  /** Called under the lease after each app-consistent delta (to cut an app-consistent point). */
  onAppConsistent?: (applied: AppliedDelta) => Promise<void>;
  /** Called under the lease after each batch, with the item as it now is; may return it updated. */
  onBatchApplied?: (item: ProtectedItem) => Promise<ProtectedItem | void>;
}

export class DeltaApplier {
  readonly #locks: VmLocks;
  readonly #journal: JournalAppender;

  constructor(
    private readonly stores: ApplierStores,
    private readonly options: ApplierOptions,
  ) {
    this.#locks = new VmLocks(stores.locks, options.clock);
    this.#journal = new JournalWriter(stores.journal);
  }

  #containers?: Promise<unknown>;

  /** The target containers the applier writes; created once, on first use. */
  #ensureContainers(): Promise<unknown> {
    const { journal, quarantine, locks } = this.stores;
    return (this.#containers ??= Promise.all(
      [journal, quarantine, locks].map((c) => c.createIfNotExists()),
    ).catch((err: unknown) => {
      this.#containers = undefined;
      throw err;
    }));
  }

  /**
   * Handles one delta blob name from the cache (a blob trigger or a sweep); `content`, the blob's
   * bytes when the caller has read them already (a blob trigger), saves downloading it again.
   */
  async onDelta(blobName: string, content?: Buffer): Promise<ApplyResult> {
    await this.#ensureContainers();
    let name;
    try {
      name = parseDeltaBlobName(blobName);
    } catch {
      return { outcome: 'ignored', reason: 'not a delta blob name' };
    }
    const log = this.options.logger.child({
      vm: `${name.resourceGroup}/${name.vm}`,
      sequence: name.sequence,
    });
    const item = await this.stores.items.get(name.resourceGroup, name.vm);
    if (!item) {
      log.warn('Delta for a VM that is not protected; leaving it in the cache', { blobName });
      return { outcome: 'notReady', reason: 'not a protected item' };
    }
    if (name.generation < item.generation) {
      await this.#deleteFromCache(blobName);
      log.info('Dropped a delta of an older replication generation', { generation: name.generation });
      return { outcome: 'duplicate', watermark: item.watermark, reason: 'older generation' };
    }
    if (name.generation > item.generation || !isReplicating(item)) {
      return { outcome: 'notReady', watermark: item.watermark, reason: `item is ${item.state}` };
    }
    if (name.sequence <= item.watermark) {
      await this.#deleteFromCache(blobName);
      return { outcome: 'duplicate', watermark: item.watermark };
    }
    if (name.sequence > item.watermark + 1) return { outcome: 'waiting', watermark: item.watermark };
    return this.drain(name.resourceGroup, name.vm, { sequence: name.sequence, content });
  }

  /**
   * Applies every consecutive delta the cache holds for the VM while the caller holds its lease;
   * returns how many. A recovery-point cut runs it first: an apply that died (a crash, a failed
   * watermark update) between writing pages and moving the watermark leaves the replicas ahead of
   * the watermark, and only applying the next deltas again brings them level with it.
   */
  async catchUpHeld(resourceGroup: string, vm: string, leaseLost: () => boolean): Promise<number> {
    await this.#ensureContainers();
    return (await this.#drainHeld(resourceGroup, vm, leaseLost)).applied;
  }

  /**
   * Applies every consecutive delta the cache holds for the VM, under its lease. For a delta's own
   * trigger (`from.sequence`), waiting for another holder of the lease ends as soon as that holder
   * has applied the delta: the trigger does not hold a slot while someone else does its work.
   */
  async drain(
    resourceGroup: string,
    vm: string,
    from?: { sequence: number; content?: Buffer },
  ): Promise<ApplyResult> {
    await this.#ensureContainers();
    let applied = 0;
    let watermark = 0;
    let given = from?.content ? { sequence: from.sequence, body: from.content } : undefined;
    let appliedElsewhere: number | undefined;
    const stopWaiting = from
      ? async (): Promise<boolean> => {
          const item = await this.stores.items.get(resourceGroup, vm);
          if (!item || item.watermark < from.sequence) return false;
          appliedElsewhere = item.watermark;
          return true;
        }
      : undefined;
    // Go round again after releasing: a delta that landed while we held the lease, whose own
    // trigger found the lease taken, must not be stranded.
    for (;;) {
      const lease = await this.#locks.acquire(
        resourceGroup,
        vm,
        this.options.leaseWaitMs ?? 2 * 30_000,
        applied === 0 ? stopWaiting : undefined,
      );
      if (!lease) {
        if (applied > 0) return { outcome: 'applied', applied, watermark };
        if (appliedElsewhere !== undefined)
          return { outcome: 'duplicate', watermark: appliedElsewhere, reason: 'applied by another drain' };
        return { outcome: 'busy' };
      }
      let round: DrainRound;
      try {
        round = await this.#drainHeld(resourceGroup, vm, () => lease.lost, given);
      } finally {
        await lease.release();
      }
      given = undefined;
      if (round.stop) return round.stop;
      applied += round.applied;
      watermark = round.watermark;
      const next = deltaBlobName({
        resourceGroup,
        vm,
        generation: round.generation,
        sequence: watermark + 1,
      });
      if (round.applied === 0 || !(await this.stores.cache.getBlobClient(next).exists())) break;
    }
    return applied > 0 ? { outcome: 'applied', applied, watermark } : { outcome: 'waiting', watermark };
  }

  /**
   * The pipeline under the lease: the stager downloads the next deltas, checks them in order and
   * starts their journal copies while the writer writes the batch before; the writer takes, in
   * order, what is ready (up to a batch), writes its pages, waits for its journal copies, moves the
   * watermark, and leaves the cache deletions running while it starts the next batch. Pages of a
   * batch are written only after the watermark of the one before has moved and its hooks ran (a
   * point cut there sees exactly the deltas up to the watermark). Nothing started here outlives it.
   */
  async #drainHeld(
    resourceGroup: string,
    vm: string,
    leaseLost: () => boolean,
    given?: { sequence: number; body: Buffer },
  ): Promise<DrainRound> {
    let item = await this.stores.items.get(resourceGroup, vm);
    if (!item || !isReplicating(item)) {
      return {
        applied: 0,
        watermark: 0,
        generation: 0,
        stop: { outcome: 'notReady', reason: item?.state ?? 'not protected' },
      };
    }
    const vmId = `${resourceGroup}/${vm}`;
    const generation = item.generation;
    const disks = item.disks;
    const nameOf = (sequence: number): string => deltaBlobName({ resourceGroup, vm, generation, sequence });
    const maxBytes = this.options.maxDeltaBytes ?? DEFAULT_MAX_DELTA_BYTES;
    const journalLimit = pLimit(JOURNAL_CONCURRENCY);
    /** Journal copies and cache deletions in flight: settled before the round ends. */
    const background = new Set<Promise<unknown>>();
    const track = <T>(work: Promise<T>): Promise<T> => {
      const settled = work.then(
        () => undefined,
        () => undefined,
      );
      background.add(settled);
      void settled.then(() => background.delete(settled));
      return work;
    };
    const stage = (sequence: number, got: Downloaded): { item: Staged; final: boolean } => {
      const body = Buffer.isBuffer(got) ? got : got.head;
      const blobName = nameOf(sequence);
      let delta: Delta;
      try {
        if (!Buffer.isBuffer(got)) checkMaxBytes(got.oversized, maxBytes);
        delta = decodeDelta(body, { vmId, generation, sequence, maxBytes });
        checkEntries(delta.entries, disks, vmId);
      } catch (err) {
        if (!isTidemarkError(err) || err.kind !== 'user') throw err;
        return { item: { kind: 'bad', sequence, blobName, body, error: err }, final: true };
      }
      // The agent lost writes before this delta: nothing from here on makes the replica consistent.
      if (delta.resyncRequired)
        return { item: { kind: 'lostWrites', sequence, blobName, body }, final: true };
      // Journaled as soon as it is checked: a copy of a good delta ahead of the watermark is harmless
      // (a crash between the journal and the watermark leaves the same), and it overlaps the writes.
      const journaled = track(
        journalLimit(() => this.#journal.append({ resourceGroup, vm, generation, sequence }, body)),
      );
      return {
        item: { kind: 'good', pending: { sequence, blobName, body, delta, journaled } },
        final: false,
      };
    };
    const stager = new Stager<Downloaded, Staged>({
      from: item.watermark + 1,
      fetch: async (sequence, admit) => {
        // The trigger's copy of a create-only blob is the blob: no second download.
        if (given?.sequence === sequence && given.body.length <= maxBytes) {
          return (await admit(given.body.length)) ? given.body : undefined;
        }
        return this.#download(nameOf(sequence), maxBytes, admit);
      },
      stage,
      concurrency: DOWNLOAD_CONCURRENCY,
      maxAhead: MAX_AHEAD_DELTAS,
      maxHeldBytes: MAX_HELD_BYTES,
    });
    const deletions: Promise<void>[] = [];
    let applied = 0;
    try {
      while (!leaseLost()) {
        const first = await stager.next();
        if (!first) break;
        const head = first.item;
        if (head.kind === 'bad') {
          await this.#quarantine(item, head.blobName, head.body, head.error);
          const stop: ApplyResult = {
            outcome: 'quarantined',
            sequence: head.sequence,
            reason: head.error.message,
          };
          return { applied, watermark: item.watermark, generation, stop };
        }
        if (head.kind === 'lostWrites') {
          const reason = await this.#lostWrites(item, head.blobName, head.body, head.sequence);
          const stop: ApplyResult = { outcome: 'quarantined', sequence: head.sequence, reason };
          return { applied, watermark: item.watermark, generation, stop };
        }
        // The batch: this delta and the good ones already staged after it. Small writes also wait
        // for the next delta when it is downloading, or, if there are many of them, while it is
        // looked for (coalescing saves more calls than the wait costs); large writes start at once.
        // An app-consistent delta ends its batch (a point is cut right after it); a bad one heads
        // the next batch.
        const batch = [head.pending];
        let bytes = first.bytes;
        let entries = head.pending.delta.entries.length;
        while (batch.length < MAX_BATCH_DELTAS && !batch[batch.length - 1]!.delta.appConsistent) {
          const state = stager.nextState();
          const small = bytes < SMALL_WRITE_BYTES * entries;
          if (small && (state === 'downloading' || (state === 'looking' && entries >= MANY_WRITES))) {
            await stager.waitNext();
          }
          const next = stager.peek();
          if (!next || next.item.kind !== 'good' || bytes + next.bytes > MAX_BATCH_BYTES) break;
          stager.take();
          batch.push(next.item.pending);
          bytes += next.bytes;
          entries += next.item.pending.delta.entries.length;
        }
        item = await this.#applyBatch(item, batch);
        stager.release(bytes);
        deletions.push(...batch.map((p) => track(this.#deleteFromCache(p.blobName))));
        applied += batch.length;
        const last = batch[batch.length - 1]!;
        if (last.delta.appConsistent) await this.options.onAppConsistent?.({ item, delta: last.delta });
        item = (await this.options.onBatchApplied?.(item)) ?? item;
      }
      await Promise.all(deletions);
      return { applied, watermark: item.watermark, generation };
    } finally {
      await stager.close();
      while (background.size > 0) await Promise.all(background);
    }
  }

  /**
   * Writes a run of consecutive deltas as one: their writes coalesced together (a replica behind
   * catches up with fewer, larger calls); once the pages and every delta's journal copy are done,
   * one watermark step over all of them.
   */
  async #applyBatch(item: ProtectedItem, batch: PendingDelta[]): Promise<ProtectedItem> {
    const { resourceGroup, vm } = item;
    const ops = coalesce(
      batch.length === 1 ? batch[0]!.delta.entries : batch.flatMap((p) => p.delta.entries),
    );
    const results = await Promise.allSettled([
      writePages(this.stores.replicas, resourceGroup, vm, item.disks, ops),
      ...batch.map((p) => p.journaled),
    ]);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const now = this.options.clock.now();
    const last = batch[batch.length - 1]!;
    const lastWriteTime = Math.max(item.watermarkTime ?? 0, ...batch.map((p) => p.delta.lastWriteTime));
    const appConsistent = [...batch].reverse().find((p) => p.delta.appConsistent);
    const health = assessHealth({ ...item, watermarkTime: lastWriteTime }, now);
    return this.stores.items.update(item, {
      watermark: last.sequence,
      watermarkTime: lastWriteTime,
      lastAppliedAt: now,
      stats: nextStats(item, batch, lastWriteTime, now),
      ...(appConsistent ? { lastAppConsistentSequence: appConsistent.sequence } : {}),
      rpoSeconds: health.rpoSeconds,
      health: health.health,
      healthReasons: health.reasons,
    });
  }

  /**
   * Downloads a delta, reading no more than `maxBytes`: the length comes with the answer's headers,
   * so a larger blob is cut off after its first bytes. The bytes it will hold are admitted first
   * (the stager's memory budget); undefined when it is not in the cache or was not admitted.
   */
  async #download(
    blobName: string,
    maxBytes: number,
    admit: (bytes: number) => Promise<boolean>,
  ): Promise<Downloaded | undefined> {
    try {
      const response = await this.stores.cache.getBlobClient(blobName).download();
      const length = response.contentLength ?? 0;
      const stream = response.readableStreamBody;
      const oversized = length > maxBytes;
      if (!(await admit(oversized ? MAX_HEADER_BYTES : length))) {
        (stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined)?.destroy?.();
        return undefined;
      }
      if (oversized) {
        const head = await readAtMost(stream, MAX_HEADER_BYTES);
        return { oversized: length, head };
      }
      const body = await readAtMost(stream, length);
      if (body.length < length) {
        // A cut connection, not a bad delta: a system error, retried, never a quarantine.
        throw new TidemarkError(
          'StorageUnavailable',
          `Downloading delta ${blobName} stopped after ${body.length} of ${length} bytes.`,
          { details: { blobName, received: body.length, contentLength: length } },
        );
      }
      return body;
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  async #quarantine(item: ProtectedItem, blobName: string, body: Buffer, err: TidemarkError): Promise<void> {
    const reason = `delta ${blobName} failed validation: ${err.code}: ${err.message}`;
    await this.#setAside(item, blobName, body, reason, err.code);
    this.options.logger.error('Quarantined a bad delta; the VM needs a resync', {
      vm: `${item.resourceGroup}/${item.vm}`,
      blobName,
      code: err.code,
      error: err.message,
    });
  }

  /**
   * A delta the agent flagged: it restarted after an unclean stop (or served writes while not
   * replicating), so writes it had acknowledged may never have reached the cache. The delta is set
   * aside in quarantine, unapplied, and the item marked ResyncRequired; the replicas stay as of the
   * delta before, a consistent point. Returns the reason.
   */
  async #lostWrites(item: ProtectedItem, blobName: string, body: Buffer, sequence: number): Promise<string> {
    const reason = `the mobility agent of ${item.resourceGroup}/${item.vm} restarted after an unclean stop (a crash or a kill) or served writes while not replicating: writes it acknowledged before delta ${sequence} may never have reached the cache, so the replicas may miss them. They stay as of delta ${sequence - 1}; disable and enable replication again to resync.`;
    await this.#setAside(item, blobName, body, reason, 'AgentLostWrites');
    this.options.logger.error('The agent lost writes before this delta; the VM needs a resync', {
      vm: `${item.resourceGroup}/${item.vm}`,
      blobName,
    });
    return reason;
  }

  /** Moves a delta to quarantine with its reason, marks the item ResyncRequired, and drops it from the cache. */
  async #setAside(
    item: ProtectedItem,
    blobName: string,
    body: Buffer,
    reason: string,
    code: string,
  ): Promise<void> {
    await this.stores.quarantine.getBlockBlobClient(blobName).uploadData(body, {
      metadata: { reason: encodeURIComponent(reason).slice(0, 4000), code },
    });
    const resync = { state: 'ResyncRequired', resyncReason: reason, applyEnabled: false } as const;
    const health = assessHealth({ ...item, ...resync }, this.options.clock.now());
    await this.stores.items.update(item, {
      ...resync,
      rpoSeconds: health.rpoSeconds,
      health: health.health,
      healthReasons: health.reasons,
    });
    await this.#deleteFromCache(blobName);
  }

  async #deleteFromCache(blobName: string): Promise<void> {
    await this.stores.cache.getBlobClient(blobName).deleteIfExists();
  }
}

/**
 * The first `limit` bytes of a stream (all of it when shorter) in one buffer allocated up front; the
 * stream is closed after, so nothing more is read from the network.
 */
async function readAtMost(stream: NodeJS.ReadableStream | undefined, limit: number): Promise<Buffer> {
  const out = Buffer.allocUnsafe(limit);
  let filled = 0;
  if (stream) {
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        const take = Math.min(chunk.length, limit - filled);
        chunk.copy(out, filled, 0, take);
        filled += take;
        if (filled === limit) break;
      }
    } finally {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    }
  }
  return filled === limit ? out : out.subarray(0, filled);
}
