/**
 * Ships the VM's journal to the cache as deltas: every `flushIntervalMs`, or as soon as
 * `maxDeltaBytes` are waiting, in sequence order, one upload at a time. An empty interval ships
 * nothing; after `heartbeatIntervalMs` without an upload an empty heartbeat delta tells the target
 * up to when the source is covered. A failed upload is retried (same number, same bytes) with
 * exponential back-off; meanwhile the journal fills and writers wait, so nothing is dropped. An
 * upload the agent has no credentials for yet (its delta window is used up, or the SAS was refused)
 * is retried the same way: the shipper asks for fresh credentials (`onCredentialsNeeded`) and
 * retries at once when they come (`retryNow`); it never skips a number.
 *
 *   idle ──(data or interval)──▶ sealing ──▶ uploading ──ok──▶ idle
 *                                              │  ▲
 *                                           fail  back-off (health: Degraded → Unreachable)
 */
import type { Clock } from '../shared/clock';
import {
  deltaBlobMetadata,
  deltaBlobName,
  type Delta,
  type DeltaEntry,
  encodeDelta,
  MAX_ENTRY_BYTES,
} from '../shared/delta';
import { ensureError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { ChangeJournal, JournalBatch } from './changeJournal';
import { type DeltaSink, isCacheCredentialsError } from './deltaSink';
import type { SequenceState, SequenceStore } from './sequenceStore';

export type ShipperHealth = 'Healthy' | 'Degraded' | 'Unreachable';

export interface ShipperOptions {
  resourceGroup: string;
  vm: string;
  generation: number;
  journal: ChangeJournal;
  sink: DeltaSink;
  sequences: SequenceStore;
  clock: Clock;
  logger: Logger;
  flushIntervalMs?: number;
  maxDeltaBytes?: number;
  heartbeatIntervalMs?: number;
  /** Back-off after a failed upload: starts here, doubles, stops growing at maxMs. */
  retry?: { initialMs: number; maxMs: number };
  /** Failing this long turns health from Degraded to Unreachable. */
  unreachableAfterMs?: number;
  /** Called on every upload that failed for want of credentials (none issued yet for it, or refused). */
  onCredentialsNeeded?: (sequence: number) => void;
}

export interface ShipperStatus {
  health: ShipperHealth;
  lastSequence: number;
  lastUploadAt?: number;
  /** Newest write time (or heartbeat time) the cache holds: the source is covered up to here. */
  coveredUntil?: number;
  failingSince?: number;
  lastError?: string;
  queuedBytes: number;
  heldBytes: number;
  waitingWriters: number;
  /** Set when the previous run stopped without shipping everything: the VM needs a resync. */
  resyncReason?: string;
}

export const DEFAULTS = {
  flushIntervalMs: 1000,
  maxDeltaBytes: 8 * 1024 * 1024,
  heartbeatIntervalMs: 30_000,
  retry: { initialMs: 500, maxMs: 30_000 },
  unreachableAfterMs: 60_000,
  onCredentialsNeeded: (): void => undefined,
};

export class DeltaShipper {
  readonly #o: Required<ShipperOptions>;
  readonly #vmId: string;
  #state?: SequenceState;
  #running = false;
  #loop?: Promise<void>;
  #wake?: AbortController;
  #stopping?: AbortController;
  #lastSealAt = 0;
  /** The loop sleeps until the next heartbeat because nothing was pending. */
  #idle = false;
  #tail: Promise<unknown> = Promise.resolve();
  #status: ShipperStatus;
  /**
   * Deltas written to the cache carry the resync flag (writes before them may be lost) until one
   * numbered `#resyncFrom` or above is written: a number filled after a crash may have been applied
   * already, and the applier drops a number it has seen without reading it.
   */
  #resyncPending = false;
  #resyncFrom = 0;
  /** The sequence number waiting for credentials, while one is. */
  #credentialsFor?: number;
  /** Aborts the back-off between two upload attempts (new credentials, or a stop). */
  #retryWake?: AbortController;
  /** New credentials came while an attempt was under way: its back-off is skipped. */
  #retryRequested = false;

  constructor(options: ShipperOptions) {
    this.#o = { ...DEFAULTS, ...options } as Required<ShipperOptions>;
    this.#vmId = `${options.resourceGroup}/${options.vm}`;
    this.#status = { health: 'Healthy', lastSequence: 0, queuedBytes: 0, heldBytes: 0, waitingWriters: 0 };
  }

  status(): ShipperStatus {
    const j = this.#o.journal;
    const since = this.#status.failingSince;
    const health =
      since !== undefined && this.#o.clock.now() - since >= this.#o.unreachableAfterMs
        ? 'Unreachable'
        : this.#status.health;
    return {
      ...this.#status,
      health,
      queuedBytes: j.queuedBytes,
      heldBytes: j.heldBytes,
      waitingWriters: j.waitingWriters,
    };
  }

  /** Recovers sequence numbers left by a crash, then starts shipping. */
  async start(): Promise<void> {
    const { state, previousRunClean } = await this.#o.sequences.load(this.#vmId, this.#o.generation);
    this.#state = state;
    await this.#o.sequences.save(state);
    this.#status.lastSequence = state.confirmedThrough;
    if (previousRunClean === false) {
      this.#status.resyncReason =
        'the mobility agent stopped without shipping every write (crash or kill); writes acknowledged before it stopped may be missing from the replica';
      this.#o.logger.error('Agent did not stop cleanly last time: the VM needs a resync', { vm: this.#vmId });
      // Tell the applier in the stream itself: it must not apply on past the writes that were lost.
      this.#resyncPending = true;
      this.#resyncFrom = state.nextSequence;
    }
    this.#stopping = new AbortController();
    this.#running = true;
    // Numbers reserved before a crash but never confirmed: fill them so the applier never waits on a gap.
    for (let seq = state.confirmedThrough + 1; seq < state.nextSequence; seq++) {
      await this.#upload(this.#heartbeat(seq), seq);
    }
    this.#lastSealAt = this.#o.clock.now();
    this.#status.lastUploadAt ??= this.#lastSealAt;
    this.#o.journal.onData(() => {
      // Wake the loop when a delta is full, or when it slept for a heartbeat and now has data to time.
      if (this.#idle || this.#o.journal.queuedBytes >= this.#o.maxDeltaBytes) this.#wake?.abort();
    });
    this.#loop = this.#run();
  }

  /**
   * The replica misses writes from before the next delta (served while nothing journaled them, or
   * journaled and lost): that delta carries the resync flag, so the applier stops there and marks
   * the item ResyncRequired.
   */
  requireResync(reason: string): void {
    this.#status.resyncReason ??= reason;
    this.#resyncPending = true;
  }

  /** True while an upload waits for credentials the config does not carry yet. */
  get waitingForCredentials(): boolean {
    return this.#credentialsFor !== undefined;
  }

  /** New credentials are there: an upload waiting in back-off tries again now. */
  retryNow(): void {
    this.#retryRequested = true;
    this.#retryWake?.abort();
  }

  /** Ships everything journaled so far and resolves once the cache has it. */
  async flush(): Promise<void> {
    while (this.#o.journal.hasPending) await this.#serial(() => this.#shipOne());
  }

  /**
   * Ships what is left, then stops; a clean stop means no resync is needed on the next start.
   * If the cache stays unreachable for `timeoutMs`, gives up: the next start then asks for a resync.
   */
  async stop({ timeoutMs = 30_000 }: { timeoutMs?: number } = {}): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#wake?.abort();
    const giveUp = this.#o.clock.setTimer(timeoutMs, () => this.#stopping?.abort());
    try {
      await this.#loop;
      await this.flush();
    } catch (err) {
      this.#o.logger.error('Stopped before every write reached the cache; the VM will need a resync', {
        vm: this.#vmId,
        err: ensureError(err).message,
      });
    } finally {
      giveUp.cancel();
      this.#stopping?.abort();
    }
    const state = this.#requireState();
    state.clean = !this.#o.journal.hasPending && state.confirmedThrough === state.nextSequence - 1;
    await this.#o.sequences.save(state);
  }

  /** Stops at once without shipping (the cache is gone for good); the next start asks for a resync. */
  async abort(): Promise<void> {
    this.#running = false;
    this.#stopping?.abort();
    this.#wake?.abort();
    await this.#loop?.catch(() => undefined);
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const now = this.#o.clock.now();
      const j = this.#o.journal;
      let due: number;
      if (j.queuedBytes >= this.#o.maxDeltaBytes) due = now;
      else if (j.hasPending) due = this.#lastSealAt + this.#o.flushIntervalMs;
      else due = (this.#status.lastUploadAt ?? now) + this.#o.heartbeatIntervalMs;
      if (due > now) {
        this.#wake = new AbortController();
        this.#idle = !j.hasPending;
        await this.#o.clock.sleep(due - now, this.#wake.signal).catch(() => undefined);
        this.#idle = false;
        continue;
      }
      try {
        // What was journaled when the interval fell due ships now (more than one delta when it is
        // cut at a bookmark or at maxDeltaBytes); writes that come during the uploads wait for the
        // next interval, so a busy VM ships a delta a second, not one per upload round trip.
        if (j.hasPending) while (await this.#serial(() => this.#shipOne()));
        else await this.#serial(() => this.#shipHeartbeat());
      } catch (err) {
        // Only a stop interrupts an upload; anything else is retried inside #upload.
        if (this.#running)
          this.#o.logger.error('Delta shipping stopped unexpectedly', { err: ensureError(err).stack });
      }
    }
  }

  /** Ships one delta; true when the journal held more than it took (cut at a bookmark or at maxDeltaBytes). */
  async #shipOne(): Promise<boolean> {
    const batch = this.#o.journal.take(this.#o.maxDeltaBytes);
    if (!batch) return false;
    const more = this.#o.journal.hasPending;
    this.#lastSealAt = this.#o.clock.now();
    const seq = await this.#reserve();
    await this.#upload(this.#deltaFrom(batch, seq), seq);
    this.#o.journal.release(batch);
    return more;
  }

  async #shipHeartbeat(): Promise<void> {
    const seq = await this.#reserve();
    await this.#upload(this.#heartbeat(seq), seq);
  }

  async #reserve(): Promise<number> {
    const state = this.#requireState();
    const seq = state.nextSequence;
    state.nextSequence = seq + 1;
    await this.#o.sequences.save(state);
    return seq;
  }

  /** Uploads until it succeeds, backing off between attempts; rejects only when stopped. */
  async #upload(delta: Delta, seq: number): Promise<void> {
    const name = deltaBlobName({
      resourceGroup: this.#o.resourceGroup,
      vm: this.#o.vm,
      generation: this.#o.generation,
      sequence: seq,
    });
    const flagged = this.#resyncPending;
    const body = encodeDelta(flagged ? { ...delta, resyncRequired: true } : delta);
    const metadata = deltaBlobMetadata(delta);
    let delay = this.#o.retry.initialMs;
    for (;;) {
      this.#retryRequested = false;
      try {
        const result = await this.#o.sink.putDelta(name, body, metadata);
        if (result === 'exists') this.#o.logger.warn('Delta already in the cache; keeping it', { name });
        // The flag must reach the applier: a delta already there, or a filled number it has applied
        // already, does not carry it to it; the first number never used before does.
        else if (flagged && seq >= this.#resyncFrom) this.#resyncPending = false;
        break;
      } catch (err) {
        this.#failed(err, name, seq, delay);
        let woken: boolean;
        try {
          woken = await this.#backOff(delay);
        } catch (stopped) {
          this.#credentialsFor = undefined;
          throw stopped;
        }
        delay = woken ? this.#o.retry.initialMs : Math.min(this.#o.retry.maxMs, delay * 2);
      }
    }
    if (this.#credentialsFor !== undefined) {
      this.#o.logger.info('Cache credentials arrived; shipping again', { vm: this.#vmId, sequence: seq });
      this.#credentialsFor = undefined;
    }
    const state = this.#requireState();
    state.confirmedThrough = seq;
    await this.#o.sequences.save(state);
    const now = this.#o.clock.now();
    if (this.#status.health !== 'Healthy') this.#o.logger.info('Delta uploads recovered', { vm: this.#vmId });
    this.#status = {
      ...this.#status,
      health: 'Healthy',
      lastSequence: seq,
      lastUploadAt: now,
      coveredUntil: delta.lastWriteTime,
      failingSince: undefined,
      lastError: undefined,
    };
    this.#o.logger.debug('Delta shipped', { name, bytes: body.length, entries: delta.entries.length });
  }

  /**
   * Sleeps `ms` before the next attempt; true when woken early by new credentials (`retryNow`).
   * Rejects when the shipper is stopped.
   */
  async #backOff(ms: number): Promise<boolean> {
    const stopping = this.#stopping?.signal;
    stopping?.throwIfAborted();
    if (this.#retryRequested) return true;
    const wake = new AbortController();
    const onStop = (): void => wake.abort();
    stopping?.addEventListener('abort', onStop, { once: true });
    this.#retryWake = wake;
    try {
      await this.#o.clock.sleep(ms, wake.signal);
      return false;
    } catch (err) {
      if (stopping?.aborted) throw err;
      return true;
    } finally {
      stopping?.removeEventListener('abort', onStop);
      if (this.#retryWake === wake) this.#retryWake = undefined;
    }
  }

  #failed(err: unknown, name: string, seq: number, retryInMs: number): void {
    const now = this.#o.clock.now();
    const message = ensureError(err).message.split('\n')[0];
    const failingSince = this.#status.failingSince ?? now;
    const health: ShipperHealth =
      now - failingSince >= this.#o.unreachableAfterMs ? 'Unreachable' : 'Degraded';
    if (isCacheCredentialsError(err)) {
      if (this.#credentialsFor !== seq) {
        this.#o.logger.warn('Waiting for cache credentials; writes are held and the config is read again', {
          name,
          error: message,
        });
      }
      this.#credentialsFor = seq;
      this.#o.onCredentialsNeeded(seq);
    }
    if (health !== this.#status.health && !(health === 'Degraded' && isCacheCredentialsError(err))) {
      const log = health === 'Unreachable' ? this.#o.logger.error : this.#o.logger.warn;
      log.call(this.#o.logger, `Cannot upload deltas to the cache (${health}); writes are held and retried`, {
        name,
        error: message,
        retryInMs,
        failingForMs: now - failingSince,
      });
    }
    this.#status = { ...this.#status, health, failingSince, lastError: message };
  }

  #deltaFrom(batch: JournalBatch, sequence: number): Delta {
    // An NBD write may be up to 32 MiB; a delta entry carries at most one Put Page (4 MiB).
    const entries: DeltaEntry[] = batch.entries.flatMap((e): DeltaEntry[] => {
      if (!e.data) return [{ disk: e.disk, offset: e.offset, zeroLength: e.length }];
      const pieces: DeltaEntry[] = [];
      for (let at = 0; at < e.data.length; at += MAX_ENTRY_BYTES) {
        pieces.push({ disk: e.disk, offset: e.offset + at, data: e.data.subarray(at, at + MAX_ENTRY_BYTES) });
      }
      return pieces;
    });
    return {
      vmId: this.#vmId,
      generation: this.#o.generation,
      sequence,
      firstWriteTime: batch.firstWriteTime,
      lastWriteTime: batch.lastWriteTime,
      appConsistent: batch.appConsistent,
      heartbeat: false,
      entries,
    };
  }

  #heartbeat(sequence: number): Delta {
    const now = this.#o.clock.now();
    return {
      vmId: this.#vmId,
      generation: this.#o.generation,
      sequence,
      firstWriteTime: now,
      lastWriteTime: now,
      appConsistent: false,
      heartbeat: true,
      entries: [],
    };
  }

  /** One delta at a time, so numbers are confirmed in order. */
  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(op, op);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  #requireState(): SequenceState {
    if (!this.#state) throw new Error('DeltaShipper used before start()');
    return this.#state;
  }
}
