/**
 * Polls one queue: as fast as messages come, backing off exponentially (on the engine clock) to
 * maxQueuePollingInterval when it is empty, and waking at once when nudged. Receives only as many
 * messages as its consumer has room for.
 */
import type { Clock } from '../../shared/clock';
import type { Logger } from '../../shared/logger';

export interface PollerOptions<T> {
  name: string;
  clock: Clock;
  logger: Logger;
  maxIntervalMs: number;
  /** How many messages the consumer can take now (0 = wait for a nudge). */
  capacity(): number;
  receive(max: number): Promise<T[]>;
  handle(item: T): void;
}

const MIN_INTERVAL_MS = 10;

export class QueuePoller<T> {
  #running = false;
  #loop?: Promise<void>;
  #wake?: AbortController;
  #nudged = false;
  #backlog = true;

  constructor(private readonly o: PollerOptions<T>) {}

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  nudge(): void {
    this.#nudged = true;
    this.#wake?.abort();
  }

  /** Something was queued for the pollers: poll as soon as there is room. */
  queued(): void {
    this.#backlog = true;
    this.nudge();
  }

  /** The consumer freed room: poll again only if the queue may hold more. */
  roomFreed(): void {
    if (this.#backlog) this.nudge();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    let interval = 0;
    while (this.#running) {
      const room = this.o.capacity();
      if (room <= 0) {
        // Wait for the consumer to free room (it nudges), or poll again later.
        this.#nudged = false;
        await this.#sleep(this.o.maxIntervalMs);
        continue;
      }
      this.#nudged = false;
      try {
        const items = await this.o.receive(room);
        this.#backlog = items.length >= room;
        for (const item of items) this.o.handle(item);
        if (items.length > 0) {
          interval = 0;
          continue;
        }
        interval = Math.min(this.o.maxIntervalMs, Math.max(MIN_INTERVAL_MS, interval * 2));
      } catch (err) {
        interval = Math.min(this.o.maxIntervalMs, Math.max(1000, interval * 2));
        this.o.logger.warn('Queue poll failed', { queue: this.o.name, err: (err as Error).message });
      }
      await this.#sleep(interval);
    }
  }

  async #sleep(ms: number): Promise<void> {
    if (this.#nudged || !this.#running) return;
    this.#wake = new AbortController();
    try {
      await this.o.clock.sleep(ms, this.#wake.signal);
    } catch {
      // nudged
    } finally {
      this.#wake = undefined;
    }
  }
}
