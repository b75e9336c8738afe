/**
 * Sending, receiving, deleting and renewing task hub queue messages. A message is a JSON envelope;
 * bodies over the queue size limit go to a blob and the envelope names it. Messages can be sent
 * invisible, which hands the sender a receipt so it can process the message in-process at once (the
 * queue copy reappears only if the process dies before deleting it).
 */
import type { QueueClient } from '@azure/storage-queue';

import type { Clock } from '../../shared/clock';
import { type LargePayloads, MAX_INLINE_MESSAGE_BYTES } from './largePayloads';
import { statusOf } from './storageErrors';

export interface Delivered<T> {
  body: T;
  queue: QueueClient;
  messageId: string;
  popReceipt: string;
  dequeueCount: number;
  /** When this process received (or sent) it, on the engine clock. */
  receivedAt: number;
  /** When its visibility was last extended. */
  leasedAt: number;
}

interface Envelope {
  body?: unknown;
  blob?: string;
}

const toSeconds = (ms: number): number => Math.max(0, Math.ceil(ms / 1000));

export class QueueTransport {
  constructor(
    private readonly payloads: LargePayloads,
    private readonly clock: Clock,
  ) {}

  /** Sends `body`; invisible for `invisibleMs` (0 = visible now). */
  async send<T>(queue: QueueClient, body: T, instanceId: string, invisibleMs = 0): Promise<Delivered<T>> {
    let text = JSON.stringify({ body } satisfies Envelope);
    if (Buffer.byteLength(text) > MAX_INLINE_MESSAGE_BYTES) {
      const blob = await this.payloads.store(instanceId, 'message', JSON.stringify(body));
      text = JSON.stringify({ blob } satisfies Envelope);
    }
    const res = await queue.sendMessage(text, {
      visibilityTimeout: toSeconds(invisibleMs),
      messageTimeToLive: -1,
    });
    const now = this.clock.now();
    return {
      body,
      queue,
      messageId: res.messageId,
      popReceipt: res.popReceipt,
      dequeueCount: 0,
      receivedAt: now,
      leasedAt: now,
    };
  }

  async receive<T>(queue: QueueClient, count: number, visibilityMs: number): Promise<Delivered<T>[]> {
    const res = await queue.receiveMessages({
      numberOfMessages: Math.min(32, Math.max(1, count)),
      visibilityTimeout: toSeconds(visibilityMs),
    });
    const now = this.clock.now();
    const out: Delivered<T>[] = [];
    for (const item of res.receivedMessageItems) {
      const base = {
        queue,
        messageId: item.messageId,
        popReceipt: item.popReceipt,
        receivedAt: now,
        leasedAt: now,
      };
      try {
        const envelope = JSON.parse(item.messageText) as Envelope;
        const body = (
          envelope.blob ? JSON.parse(await this.payloads.load(envelope.blob)) : envelope.body
        ) as T;
        out.push({ ...base, body, dequeueCount: item.dequeueCount });
      } catch {
        // Not ours (or its blob is gone): drop it so it cannot block the queue.
        await this.delete({ ...base, body: undefined, dequeueCount: item.dequeueCount });
      }
    }
    return out;
  }

  /** Deletes a handled message; a message already deleted (or re-leased elsewhere) is fine. */
  async delete(d: Delivered<unknown>): Promise<void> {
    try {
      await d.queue.deleteMessage(d.messageId, d.popReceipt);
    } catch (err) {
      const status = statusOf(err);
      if (status !== 404 && status !== 400) throw err;
    }
  }

  /** Keeps a held message invisible for another `visibilityMs`. Returns false if it was lost. */
  async renew(d: Delivered<unknown>, visibilityMs: number): Promise<boolean> {
    try {
      const res = await d.queue.updateMessage(d.messageId, d.popReceipt, undefined, toSeconds(visibilityMs));
      d.popReceipt = res.popReceipt ?? d.popReceipt;
      d.leasedAt = this.clock.now();
      return true;
    } catch (err) {
      const status = statusOf(err);
      if (status === 404 || status === 400) return false;
      throw err;
    }
  }

  /** Gives a message back to the queue, visible again after `delayMs`. */
  async release(d: Delivered<unknown>, delayMs = 0): Promise<void> {
    await this.renew(d, delayMs).catch(() => undefined);
  }
}
