/**
 * Keeps a message invisible while its function runs: every half of the processing visibility timeout
 * the lease is renewed with updateMessage (as the real listener's UpdateQueueMessageVisibilityCommand
 * does). A failed renewal is retried sooner; a lost message (gone, or received by someone else) ends
 * the renewals. stop() waits for a renewal in progress so the caller completes with the newest pop receipt.
 */
import type { Clock, TimerHandle } from '../../../shared/clock';
import type { Logger } from '../../../shared/logger';
import { isMessageLost, type QueueOps } from './storageQueue';

export interface Lease {
  messageId: string;
  popReceipt: string;
}

const MIN_RETRY_MS = 1000;

export class VisibilityRenewer {
  #timer?: TimerHandle;
  #running: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(
    private readonly queue: QueueOps,
    private readonly lease: Lease,
    private readonly visibilityTimeoutMs: number,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.#arm(this.visibilityTimeoutMs / 2);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    await this.#running;
  }

  #arm(ms: number): void {
    if (this.#stopped) return;
    this.#timer = this.clock.setTimer(ms, () => {
      this.#running = this.#renew();
    });
  }

  async #renew(): Promise<void> {
    if (this.#stopped) return;
    try {
      const { popReceipt } = await this.queue.setVisibility(
        this.lease.messageId,
        this.lease.popReceipt,
        this.visibilityTimeoutMs,
      );
      this.lease.popReceipt = popReceipt;
      this.logger.debug('Renewed queue message visibility', {
        queue: this.queue.name,
        messageId: this.lease.messageId,
      });
      this.#arm(this.visibilityTimeoutMs / 2);
    } catch (err) {
      if (isMessageLost(err)) {
        this.logger.warn('Queue message was lost while its function ran; it may run again elsewhere', {
          queue: this.queue.name,
          messageId: this.lease.messageId,
          err: (err as Error)?.message,
        });
        return;
      }
      this.logger.warn('Could not renew queue message visibility; retrying', {
        queue: this.queue.name,
        messageId: this.lease.messageId,
        err: (err as Error)?.message,
      });
      this.#arm(Math.max(MIN_RETRY_MS, this.visibilityTimeoutMs / 8));
    }
  }
}
