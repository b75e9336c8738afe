/**
 * Fires durable timers: wakes (on the engine clock) when the earliest timer this host knows of is
 * due, sends each due timer's TimerFired to its instance, then deletes the timer row (a repeat is
 * recognised by history). Every maxQueuePollingInterval it also rescans all partitions, which picks
 * up timers that fell due while the host was down and those written by other hosts.
 */
import type { TimerHandle } from '../../shared/clock';
import type { EngineContext } from './engineContext';

interface Wakeup {
  at: number;
  handle: TimerHandle;
}

export class TimerService {
  readonly #wakeups = new Map<number, Wakeup>();
  readonly #scanning = new Map<number, Promise<void>>();
  readonly #rescan = new Set<number>();
  #sweep?: TimerHandle;
  #running = false;

  constructor(private readonly ctx: EngineContext) {}

  start(): void {
    this.#running = true;
    this.#scanAll();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#sweep?.cancel();
    for (const w of this.#wakeups.values()) w.handle.cancel();
    this.#wakeups.clear();
    await Promise.allSettled([...this.#scanning.values()]);
  }

  /** A timer was written for `partition`, due at `fireAt`. */
  scheduled(partition: number, fireAt: number): void {
    if (!this.#running) return;
    const current = this.#wakeups.get(partition);
    if (current && current.at <= fireAt) return;
    current?.handle.cancel();
    const delay = Math.max(0, fireAt - this.ctx.clock.now());
    this.#wakeups.set(partition, {
      at: fireAt,
      handle: this.ctx.clock.setTimer(delay, () => {
        this.#wakeups.delete(partition);
        this.#scan(partition);
      }),
    });
  }

  #scanAll(): void {
    if (!this.#running) return;
    for (let p = 0; p < this.ctx.options.partitionCount; p++) this.#scan(p);
    this.#sweep = this.ctx.clock.setTimer(this.ctx.options.maxQueuePollingMs, () => this.#scanAll());
  }

  #scan(partition: number): void {
    if (this.#scanning.has(partition)) {
      this.#rescan.add(partition);
      return;
    }
    const work = this.#fireDue(partition)
      .catch((err: unknown) => {
        this.ctx.logger.warn('Timer scan failed', { partition, err: (err as Error).message });
        this.scheduled(partition, this.ctx.clock.now() + 1000);
      })
      .finally(() => {
        this.#scanning.delete(partition);
        if (this.#rescan.delete(partition) && this.#running) this.#scan(partition);
      });
    this.#scanning.set(partition, work);
  }

  async #fireDue(partition: number): Promise<void> {
    const { timers, outbox, clock, logger } = this.ctx;
    for (;;) {
      const due = await timers.due(partition, clock.now());
      for (const row of due) {
        await outbox.control(row.message);
        await timers.remove(partition, row.rowKey);
        logger.debug('Timer fired', {
          instanceId: row.message.instanceId,
          timerId: row.message.event.TimerId,
        });
      }
      if (due.length < 100 || !this.#running) break;
    }
    const next = await timers.next(partition);
    if (next !== undefined) this.scheduled(partition, next);
  }
}
