/**
 * The shared work queue: one consumer of the host queue for all blob functions, running at most
 * `maxDegreeOfParallelism` invocations at once. It only dequeues as many messages as it has free
 * slots, so nothing waits invisible in memory. A message stays invisible while its function runs
 * (renewed every third of MESSAGE_VISIBILITY_SECONDS); afterwards it is deleted, made visible again
 * after the retry delay, or moved to the poison queue. The scanner and the webhook wake the consumer
 * as soon as they queue something; otherwise, once an answer brought fewer messages than it asked
 * for, it looks again after `pollIntervalMs`.
 */
import type { Clock, TimerHandle } from '../../../shared/clock';
import type { Logger } from '../../../shared/logger';
import { type BlobTriggerConfig, MESSAGE_VISIBILITY_SECONDS } from './config';
import type { BlobExecutor, Decision } from './executor';
import type { HostQueue, ReceivedMessage } from './hostQueue';
import { Wakeup } from './wake';

/** Serialises the queue operations on one message (renewals change its pop receipt). */
class MessageHold {
  #chain: Promise<unknown> = Promise.resolve();
  #timer?: TimerHandle;
  #released = false;

  constructor(
    private readonly queue: HostQueue,
    private readonly message: ReceivedMessage,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.#schedule();
  }

  #schedule(): void {
    if (this.#released) return;
    this.#timer = this.clock.setTimer((MESSAGE_VISIBILITY_SECONDS * 1000) / 3, () => {
      void this.run(() => this.queue.setVisibility(this.message, MESSAGE_VISIBILITY_SECONDS)).then(
        () => this.#schedule(),
        (err: unknown) =>
          this.logger.warn('Could not extend the visibility of a blob trigger message', {
            err: (err as Error)?.message ?? String(err),
          }),
      );
    });
  }

  run<T>(op: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(op);
    this.#chain = next.catch(() => undefined);
    return next;
  }

  release(): void {
    this.#released = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }
}

export class Dispatcher {
  #active = 0;
  readonly #tasks = new Set<Promise<void>>();
  readonly #wake: Wakeup;
  readonly #slot: Wakeup;

  constructor(
    private readonly queue: HostQueue,
    private readonly executor: BlobExecutor,
    private readonly config: BlobTriggerConfig,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly stop: AbortSignal,
  ) {
    this.#wake = new Wakeup(clock, stop);
    this.#slot = new Wakeup(clock, stop);
  }

  /** Something was queued: look at the queue now instead of at the next poll. */
  wake(): void {
    this.#wake.wake();
  }

  async run(): Promise<void> {
    let failures = 0;
    while (!this.stop.aborted) {
      const free = this.config.maxDegreeOfParallelism - this.#active;
      if (free <= 0) {
        await this.#slot.wait(1_000);
        continue;
      }
      const asked = Math.min(32, free);
      let messages: ReceivedMessage[];
      try {
        messages = await this.queue.receive(asked, MESSAGE_VISIBILITY_SECONDS);
        failures = 0;
      } catch (err) {
        if (failures++ % 40 === 0) {
          this.logger.warn('Could not read the blob trigger host queue; retrying', {
            queue: this.queue.name,
            err: (err as Error)?.message ?? String(err),
          });
        }
        await this.#wake.wait(this.config.pollIntervalMs * 4);
        continue;
      }
      if (this.stop.aborted) {
        // Dequeued while stopping: hand them back for the next start.
        await Promise.all(messages.map((m) => this.queue.setVisibility(m, 0).catch(() => undefined)));
        break;
      }
      for (const message of messages) this.#start(message);
      // Fewer than asked for: the queue had no more, so look again when something is queued (the
      // scanner and the webhook wake us) or at the next poll, not at once for an empty answer.
      if (messages.length < asked) await this.#wake.wait(this.config.pollIntervalMs);
    }
    await Promise.all(this.#tasks);
  }

  #start(message: ReceivedMessage): void {
    this.#active++;
    const task = this.#process(message).finally(() => {
      this.#active--;
      this.#tasks.delete(task);
      this.#slot.wake();
    });
    this.#tasks.add(task);
  }

  async #process(message: ReceivedMessage): Promise<void> {
    const hold = new MessageHold(this.queue, message, this.clock, this.logger);
    let decision: Decision;
    try {
      decision = await this.executor.execute(message);
    } catch (err) {
      this.logger.warn('Blob trigger message failed before the function ran; retrying', {
        err: (err as Error)?.message ?? String(err),
        dequeueCount: message.dequeueCount,
      });
      decision = { action: 'retry', delaySeconds: 1 };
    }
    hold.release();
    try {
      await hold.run(() => this.#apply(message, decision));
      if (decision.action === 'retry' && decision.delaySeconds === 0) this.wake();
    } catch (err) {
      this.logger.warn('Could not settle a blob trigger message; it will be delivered again', {
        action: decision.action,
        err: (err as Error)?.message ?? String(err),
      });
    }
  }

  async #apply(message: ReceivedMessage, decision: Decision): Promise<void> {
    if (decision.action === 'delete') await Promise.all([this.queue.delete(message), decision.alongside]);
    else if (decision.action === 'poison') await this.queue.poison(message);
    else await this.queue.setVisibility(message, decision.delaySeconds);
  }
}
