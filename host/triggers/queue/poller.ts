/**
 * One queue listener per function, as the real QueueListener: receive up to batchSize messages (kept
 * invisible while they run), run them concurrently, and fetch the next batch once no more than
 * newBatchThreshold are still running, so at most batchSize + newBatchThreshold run at once. A poll
 * that finds messages is followed at once by the next; empty polls back off (randomised, exponential)
 * from 100 ms to maxPollingInterval. All waits use the host clock. stop() ends polling and waits for
 * the messages in flight to finish and be completed (deleted, released or poisoned).
 */
import { RandomizedExponentialBackoff } from './backoff';
import { MIN_POLLING_INTERVAL_MS } from './options';
import { type MessageProcessorContext, processMessage } from './processor';
import { isQueueNotFound, type ReceivedMessage } from './storageQueue';

export class QueuePoller {
  readonly #ctx: MessageProcessorContext;
  readonly #backoff: RandomizedExponentialBackoff;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #stopping: Promise<void>;
  #signalStop!: () => void;
  #stopped = false;
  #loop?: Promise<void>;
  #sleep?: AbortController;
  #woken = false;
  #foundSinceLastDelay = false;
  #queueReady = false;

  constructor(ctx: MessageProcessorContext, random?: () => number) {
    this.#ctx = ctx;
    this.#backoff = new RandomizedExponentialBackoff(
      Math.min(MIN_POLLING_INTERVAL_MS, ctx.options.maxPollingIntervalMs),
      ctx.options.maxPollingIntervalMs,
      undefined,
      random,
    );
    this.#stopping = new Promise<void>((resolve) => (this.#signalStop = resolve));
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Creates the queue when missing, then starts polling in the background. */
  async start(): Promise<void> {
    await this.#ensureQueue();
    this.#loop = this.#run();
  }

  /** A message was just added to this queue by this host: poll now instead of waiting out the back-off. */
  wake(): void {
    this.#woken = true;
    this.#sleep?.abort();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#signalStop();
    this.#sleep?.abort();
    await this.#loop;
    await Promise.all(this.#inFlight);
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      await this.#waitForNewBatchThreshold();
      if (this.#stopped) break;
      this.#woken = false;
      const batch = await this.#receive();
      if (this.#stopped) {
        await this.#releaseUnstarted(batch ?? []);
        break;
      }
      if (!batch || batch.length === 0) {
        await this.#backOff();
        continue;
      }
      this.#foundSinceLastDelay = true;
      for (const message of batch) this.#track(message);
    }
  }

  async #waitForNewBatchThreshold(): Promise<void> {
    while (!this.#stopped && this.#inFlight.size > this.#ctx.options.newBatchThreshold) {
      await Promise.race([...this.#inFlight, this.#stopping]);
    }
  }

  async #ensureQueue(): Promise<boolean> {
    if (this.#queueReady) return true;
    try {
      await this.#ctx.queue.createIfNotExists();
      this.#queueReady = true;
    } catch (err) {
      this.#ctx.logger.warn('Could not create the trigger queue; will retry', {
        queue: this.#ctx.queue.name,
        err: (err as Error)?.message,
      });
    }
    return this.#queueReady;
  }

  async #receive(): Promise<ReceivedMessage[] | undefined> {
    if (!(await this.#ensureQueue())) return undefined;
    try {
      return await this.#ctx.queue.receive(this.#ctx.options.batchSize, this.#ctx.processingVisibilityMs);
    } catch (err) {
      if (isQueueNotFound(err)) this.#queueReady = false;
      this.#ctx.logger.warn('Polling the queue failed; backing off', {
        queue: this.#ctx.queue.name,
        err: (err as Error)?.message,
      });
      return undefined;
    }
  }

  async #backOff(): Promise<void> {
    const delayMs = this.#backoff.next(this.#foundSinceLastDelay);
    this.#foundSinceLastDelay = false;
    if (this.#woken) return;
    this.#ctx.logger.debug('Queue is empty; backing off', { queue: this.#ctx.queue.name, delayMs });
    const sleep = new AbortController();
    this.#sleep = sleep;
    try {
      await this.#ctx.clock.sleep(delayMs, sleep.signal);
    } catch {
      // Woken up or stopping.
    } finally {
      this.#sleep = undefined;
    }
  }

  #track(message: ReceivedMessage): void {
    const task = processMessage(this.#ctx, message)
      .catch((err: unknown) => {
        this.#ctx.logger.error('Completing a queue message failed', {
          queue: this.#ctx.queue.name,
          messageId: message.messageId,
          err: (err as Error)?.stack ?? String(err),
        });
      })
      .finally(() => this.#inFlight.delete(task));
    this.#inFlight.add(task);
  }

  /** Messages received while stopping go straight back to the queue, unprocessed. */
  async #releaseUnstarted(batch: ReceivedMessage[]): Promise<void> {
    await Promise.all(
      batch.map((m) => this.#ctx.queue.setVisibility(m.messageId, m.popReceipt, 0).catch(() => undefined)),
    );
  }
}
