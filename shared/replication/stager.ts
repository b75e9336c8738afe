/**
 * Stages a VM's next deltas ahead of the batch being written: downloads several at a time, then
 * checks each in sequence order (and starts its journal copy) so the writer finds whole batches
 * ready. Memory is bounded by a byte budget that a download takes, in sequence order, before it
 * reads its body, and that the writer gives back once a batch is committed; a delta alone may be
 * larger than the budget, so a huge one never stalls the run.
 *
 *   fetch(s) ──▶ fetch(s+1) ──▶ … (at most `concurrency` at a time)
 *      │ in sequence order
 *      ▼
 *   stage(s): decode, check, journal copy ──▶ queue ──▶ writer: next() / peek() / take()
 *
 * A miss (delta s is not in the cache yet) drops the guesses made past it and, once the writer has
 * caught up with s, looks once more: a delta that landed meanwhile is not left for the next trigger.
 * Until a delta is found (at the start, after a miss) it downloads one at a time.
 */

/** Bytes held by deltas downloaded and not yet committed; granted first come, first served. */
export class ByteBudget {
  #held = 0;
  #closed = false;
  readonly #waiters: { bytes: number; grant: (ok: boolean) => void }[] = [];

  constructor(readonly limit: number) {}

  get held(): number {
    return this.#held;
  }

  /** Resolves true once `bytes` are granted, false if the budget was closed first. */
  acquire(bytes: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#waiters.length === 0 && this.#fits(bytes)) {
      this.#held += bytes;
      return Promise.resolve(true);
    }
    return new Promise((grant) => this.#waiters.push({ bytes, grant }));
  }

  release(bytes: number): void {
    this.#held = Math.max(0, this.#held - bytes);
    while (this.#waiters.length > 0 && this.#fits(this.#waiters[0]!.bytes)) {
      const w = this.#waiters.shift()!;
      this.#held += w.bytes;
      w.grant(true);
    }
  }

  close(): void {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w.grant(false);
  }

  #fits(bytes: number): boolean {
    return this.#held === 0 || this.#held + bytes <= this.limit;
  }
}

export interface StagerOptions<D, T> {
  /** The first sequence to stage. */
  from: number;
  /**
   * Downloads delta `sequence`; undefined when it is not there (or `admit` said no). It must call
   * `admit(bytes)` before allocating the body and give up if that resolves false.
   */
  fetch: (sequence: number, admit: (bytes: number) => Promise<boolean>) => Promise<D | undefined>;
  /** Checks a fetched delta, in sequence order; a final item (a bad delta) ends the run after it. */
  stage: (sequence: number, fetched: D) => { item: T; final: boolean };
  /** Downloads at a time. */
  concurrency: number;
  /** Deltas staged or downloading, at most. */
  maxAhead: number;
  /** Bytes held at once by deltas downloading, staged, or taken and not yet released. */
  maxHeldBytes: number;
}

interface Fetched<D> {
  value: D;
  /** What the fetch was admitted for. */
  bytes: number;
}

/** A staged delta and the bytes it holds in the budget (give them back with `release`). */
export interface StagedItem<T> {
  item: T;
  bytes: number;
}

export class Stager<D, T> {
  readonly #queue: StagedItem<T>[] = [];
  readonly #fetches = new Map<number, Promise<Fetched<D> | undefined>>();
  /** Every fetch not yet settled, dropped ones included: close() waits for them all. */
  readonly #inflight = new Set<Promise<unknown>>();
  #issued: number;
  #ended = false;
  #closed = false;
  #error: { err: unknown } | undefined;
  /** Wakes the writer (something was queued, the run ended or failed). */
  #wakeWriter: (() => void) | undefined;
  /** Wakes the stager (the writer took something, is waiting, or closed). */
  #wakeStager: (() => void) | undefined;
  #writerWaiting = false;
  /** After a miss, until the stager looks again. */
  #missing = false;
  /** Sequences whose download was admitted (it exists; its body is on the way) and not settled. */
  readonly #admitted = new Map<number, object>();
  /** The sequence the stager waits for next. */
  #current: number;
  /** The last fetch to have asked the budget; the next one asks after it. */
  #admitTurn: Promise<void> = Promise.resolve();
  readonly #running: Promise<void>;
  readonly #budget: ByteBudget;

  constructor(private readonly options: StagerOptions<D, T>) {
    this.#budget = new ByteBudget(options.maxHeldBytes);
    this.#issued = options.from;
    this.#current = options.from;
    this.#running = this.#run();
  }

  /** The next staged delta, waiting for it; undefined at the end of the run. */
  async next(): Promise<StagedItem<T> | undefined> {
    await this.#waitStaged();
    const head = this.take();
    if (head) return head;
    if (this.#error) throw this.#error.err;
    return undefined;
  }

  /**
   * Where the next delta stands: `staged` (peek it), `downloading` (found in the cache, its body on
   * the way), `looking` (asked for, not known yet), or `none` (not found for now, or the run ended).
   */
  nextState(): 'staged' | 'downloading' | 'looking' | 'none' {
    if (this.#queue.length > 0) return 'staged';
    if (this.#ended || this.#closed || this.#missing) return 'none';
    if (this.#admitted.has(this.#current)) return 'downloading';
    return this.#fetches.has(this.#current) ? 'looking' : 'none';
  }

  /** Waits while the next delta is `downloading` or `looking` (see nextState). */
  async waitNext(): Promise<void> {
    for (;;) {
      const state = this.nextState();
      if (state !== 'downloading' && state !== 'looking') return;
      await new Promise<void>((resolve) => (this.#wakeWriter = resolve));
    }
  }

  /** Waits until a delta is staged, or the run ends (a miss is looked at again meanwhile). */
  async #waitStaged(): Promise<void> {
    while (this.#queue.length === 0 && !this.#ended && !this.#closed) {
      await new Promise<void>((resolve) => {
        this.#wakeWriter = resolve;
        this.#writerWaiting = true;
        this.#poke();
      });
      this.#writerWaiting = false;
    }
  }

  /** The next staged delta if it is already here, without taking it. */
  peek(): StagedItem<T> | undefined {
    return this.#queue[0];
  }

  /** Gives back the bytes of staged deltas taken and done with. */
  release(bytes: number): void {
    this.#budget.release(bytes);
  }

  /** Takes the next staged delta if it is already here. */
  take(): StagedItem<T> | undefined {
    const head = this.#queue.shift();
    if (head) this.#poke();
    return head;
  }

  /** Stops staging and waits until nothing it started is still running. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#budget.close();
    this.#poke();
    this.#wakeWriter?.();
    await this.#running;
    await Promise.allSettled(this.#inflight);
  }

  #poke(): void {
    const wake = this.#wakeStager;
    this.#wakeStager = undefined;
    wake?.();
  }

  #sleep(): Promise<void> {
    return new Promise((resolve) => (this.#wakeStager = resolve));
  }

  #notify(): void {
    const wake = this.#wakeWriter;
    this.#wakeWriter = undefined;
    wake?.();
  }

  #startFetch(sequence: number): void {
    const budget = this.#budget;
    const previous = this.#admitTurn;
    let passTurn!: () => void;
    this.#admitTurn = new Promise((resolve) => (passTurn = resolve));
    let admitted = 0;
    const token = {};
    const admit = async (bytes: number): Promise<boolean> => {
      await previous;
      const granted = budget.acquire(bytes);
      passTurn();
      const ok = await granted;
      if (ok) {
        admitted += bytes;
        this.#admitted.set(sequence, token);
      }
      return ok;
    };
    const fetched = (async (): Promise<Fetched<D> | undefined> => {
      try {
        const value = await this.options.fetch(sequence, admit);
        if (value !== undefined) return { value, bytes: admitted };
        budget.release(admitted);
        return undefined;
      } catch (err) {
        budget.release(admitted);
        throw err;
      } finally {
        passTurn();
        if (this.#admitted.get(sequence) === token) this.#admitted.delete(sequence);
      }
    })();
    const settled = fetched.then(
      () => undefined,
      () => undefined,
    );
    this.#inflight.add(settled);
    void settled.then(() => this.#inflight.delete(settled));
    this.#fetches.set(sequence, fetched);
  }

  /** Drops the fetches at and past `sequence`, giving back what they were admitted for. */
  #dropFrom(sequence: number): void {
    for (const [s, fetched] of this.#fetches) {
      if (s < sequence) continue;
      this.#fetches.delete(s);
      fetched.then(
        (f) => f && this.#budget.release(f.bytes),
        () => undefined,
      );
    }
    this.#issued = sequence;
  }

  async #run(): Promise<void> {
    let sequence = this.options.from;
    let lookedAgain = -1;
    let probing = true;
    try {
      while (!this.#closed) {
        // One download at a time until a delta is found (the first comes sooner, and a look past
        // the end costs one request), then `concurrency`.
        const concurrency = probing ? 1 : this.options.concurrency;
        while (
          this.#fetches.size < concurrency &&
          this.#queue.length + this.#fetches.size < this.options.maxAhead
        ) {
          this.#startFetch(this.#issued++);
        }
        this.#current = sequence;
        const pending = this.#fetches.get(sequence);
        if (!pending) {
          // The queue is full: wait for the writer to take some.
          await this.#sleep();
          continue;
        }
        const fetched = await pending;
        this.#fetches.delete(sequence);
        if (this.#closed) {
          if (fetched !== undefined) this.#budget.release(fetched.bytes);
          break;
        }
        if (fetched === undefined) {
          probing = true;
          this.#dropFrom(sequence + 1);
          this.#issued = sequence;
          if (lookedAgain === sequence) break;
          // Look once more when the writer has caught up: it may have landed since.
          this.#missing = true;
          this.#notify();
          while (!this.#closed && !(this.#writerWaiting && this.#queue.length === 0)) await this.#sleep();
          this.#missing = false;
          lookedAgain = sequence;
          continue;
        }
        let staged: { item: T; final: boolean };
        try {
          staged = this.options.stage(sequence, fetched.value);
        } catch (err) {
          this.#budget.release(fetched.bytes);
          throw err;
        }
        const { item, final } = staged;
        probing = false;
        this.#queue.push({ item, bytes: fetched.bytes });
        this.#notify();
        if (final) break;
        sequence++;
      }
    } catch (err) {
      this.#error = { err };
    } finally {
      this.#ended = true;
      this.#dropFrom(sequence + 1);
      this.#notify();
    }
  }
}
