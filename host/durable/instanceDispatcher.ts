/**
 * Per-instance inboxes for control messages. An instance is processed by one episode (or entity
 * batch) at a time; different instances run in parallel up to maxConcurrentOrchestratorFunctions.
 * Consumed messages are deleted after their episode committed; held messages keep their queue lease
 * (renewed at half the visibility timeout) and go back to the queue when the host stops.
 */
import type { Clock, TimerHandle } from '../../shared/clock';
import type { Logger } from '../../shared/logger';
import type { ProcessResult } from './engineContext';
import { isEntityInstance } from './entityIds';
import type { ControlMessage } from './messages';
import type { Delivered, QueueTransport } from './queueTransport';
import { Semaphore } from './semaphore';

type Msg = Delivered<ControlMessage>;

export interface InstanceProcessor {
  process(instanceId: string, inbox: Msg[]): Promise<ProcessResult<Msg>>;
  /** Waits for writes the processor finishes in the background. */
  drain?(): Promise<void>;
}

interface Slot {
  messages: Msg[];
  running: boolean;
  waiting: boolean;
  retry?: TimerHandle;
}

export class InstanceDispatcher {
  readonly #slots = new Map<string, Slot>();
  readonly #ready: string[] = [];
  readonly #semaphore: Semaphore;
  readonly #work = new Set<Promise<unknown>>();
  #renewTimer?: TimerHandle;
  #stopping = false;
  #held = 0;

  constructor(
    private readonly orchestrations: InstanceProcessor,
    private readonly entities: InstanceProcessor,
    private readonly transport: QueueTransport,
    private readonly clock: Clock,
    private readonly logger: Logger,
    concurrency: number,
    private readonly visibilityMs: number,
  ) {
    this.#semaphore = new Semaphore(concurrency);
  }

  /** Messages waiting in memory (for back-pressure on the pollers). */
  get pending(): number {
    return this.#held;
  }

  get accepting(): boolean {
    return !this.#stopping;
  }

  start(): void {
    this.#armRenewal();
  }

  accept(d: Msg): boolean {
    if (this.#stopping) return false;
    const id = d.body.instanceId;
    let slot = this.#slots.get(id);
    if (!slot) {
      slot = { messages: [], running: false, waiting: false };
      this.#slots.set(id, slot);
    }
    const same = slot.messages.find((m) => m.messageId === d.messageId);
    if (same) {
      // The queue handed it out again (its lease ran out): only the newest receipt is valid.
      same.popReceipt = d.popReceipt;
      same.leasedAt = d.leasedAt;
      return true;
    }
    slot.messages.push(d);
    this.#held++;
    // A new message is reason enough to look again now.
    slot.retry?.cancel();
    slot.retry = undefined;
    this.#schedule(id, slot);
    return true;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#renewTimer?.cancel();
    while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
    const held = [...this.#slots.values()].flatMap((s) => {
      s.retry?.cancel();
      return s.messages;
    });
    this.#slots.clear();
    await Promise.allSettled(held.map((m) => this.transport.release(m)));
    await Promise.all([this.orchestrations.drain?.(), this.entities.drain?.()]);
  }

  #schedule(id: string, slot: Slot): void {
    if (slot.running || slot.waiting || slot.retry || slot.messages.length === 0 || this.#stopping) return;
    if (this.#semaphore.tryAcquire()) this.#run(id, slot);
    else {
      slot.waiting = true;
      this.#ready.push(id);
    }
  }

  #run(id: string, slot: Slot): void {
    slot.running = true;
    const batch = slot.messages.slice();
    const processor = isEntityInstance(id) ? this.entities : this.orchestrations;
    const work = processor
      .process(id, batch)
      .catch((err: unknown): ProcessResult<Msg> => {
        this.logger.error('Instance processing failed', { instanceId: id, err: (err as Error)?.stack });
        return { consumed: [], dropped: [], held: batch, retryAfterMs: 1000 };
      })
      .then((result) => this.#settle(id, slot, result))
      .finally(() => {
        this.#work.delete(work);
        this.#semaphore.release();
        this.#next();
      });
    this.#work.add(work);
  }

  #settle(id: string, slot: Slot, result: ProcessResult<Msg>): void {
    slot.running = false;
    const done = new Set([...result.consumed, ...result.dropped]);
    slot.messages = slot.messages.filter((m) => !done.has(m));
    this.#held -= done.size;
    for (const m of result.dropped) this.#track(this.transport.delete(m));
    const rowWritten = result.rowWritten;
    for (const m of result.consumed) {
      this.#track(
        rowWritten
          ? rowWritten.then((written) => (written ? this.transport.delete(m) : undefined))
          : this.transport.delete(m),
      );
    }
    if (slot.messages.length === 0) {
      this.#slots.delete(id);
      return;
    }
    if (result.retryAfterMs !== undefined) {
      slot.retry = this.clock.setTimer(result.retryAfterMs, () => {
        slot.retry = undefined;
        this.#schedule(id, slot);
      });
    } else if (result.again || result.consumed.length > 0 || slot.messages.length > result.held.length) {
      this.#schedule(id, slot);
    }
  }

  #next(): void {
    while (this.#ready.length > 0 && !this.#stopping) {
      const id = this.#ready.shift() as string;
      const slot = this.#slots.get(id);
      if (!slot) continue;
      slot.waiting = false;
      if (!this.#semaphore.tryAcquire()) {
        slot.waiting = true;
        this.#ready.unshift(id);
        return;
      }
      if (slot.running || slot.messages.length === 0) {
        this.#semaphore.release();
        continue;
      }
      this.#run(id, slot);
    }
  }

  #track(p: Promise<unknown>): void {
    const tracked = p.catch((err: unknown) =>
      this.logger.debug('Queue message delete failed', { err: (err as Error)?.message }),
    );
    this.#work.add(tracked);
    void tracked.finally(() => this.#work.delete(tracked));
  }

  /** Keeps held messages invisible while they wait longer than half their visibility timeout. */
  #armRenewal(): void {
    const every = Math.max(1000, Math.floor(this.visibilityMs / 4));
    this.#renewTimer = this.clock.setTimer(every, () => {
      const due = this.clock.now() - this.visibilityMs / 2;
      for (const slot of this.#slots.values()) {
        for (const m of slot.messages) {
          if (m.leasedAt <= due) this.#track(this.transport.renew(m, this.visibilityMs));
        }
      }
      if (!this.#stopping) this.#armRenewal();
    });
  }
}
