/**
 * The few queue operations the trigger and the output binding need, over @azure/storage-queue. Kept
 * behind an interface so the poller can be tested with an in-memory queue and a ManualClock.
 * Visibility timeouts are whole seconds on the wire; milliseconds are rounded up.
 */
import type { QueueClient, QueueServiceClient } from '@azure/storage-queue';

export interface ReceivedMessage {
  messageId: string;
  popReceipt: string;
  /** The text as stored (still encoded). */
  messageText: string;
  dequeueCount: number;
  insertedOn: Date;
  expiresOn: Date;
  nextVisibleOn: Date;
}

export interface QueueOps {
  readonly name: string;
  createIfNotExists(): Promise<void>;
  receive(count: number, visibilityTimeoutMs: number): Promise<ReceivedMessage[]>;
  delete(messageId: string, popReceipt: string): Promise<void>;
  /** Changes a message's visibility only; returns the new pop receipt. */
  setVisibility(
    messageId: string,
    popReceipt: string,
    visibilityTimeoutMs: number,
  ): Promise<{ popReceipt: string; nextVisibleOn?: Date }>;
  /** Adds a message (text already encoded), creating the queue when it is missing. */
  send(text: string): Promise<void>;
}

export function toSeconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}

interface StorageErrorLike {
  statusCode?: number;
  code?: string;
}

function storageError(err: unknown): StorageErrorLike {
  return typeof err === 'object' && err !== null ? (err as StorageErrorLike) : {};
}

/** 404: the message or the queue is gone. */
export function isNotFound(err: unknown): boolean {
  return storageError(err).statusCode === 404;
}

export function isQueueNotFound(err: unknown): boolean {
  const e = storageError(err);
  return e.statusCode === 404 && e.code === 'QueueNotFound';
}

/** Someone else received (or updated) the message since we did. */
export function isPopReceiptMismatch(err: unknown): boolean {
  const e = storageError(err);
  return e.statusCode === 400 && e.code === 'PopReceiptMismatch';
}

/** The message is no longer ours to complete: gone, or taken over by someone else. */
export function isMessageLost(err: unknown): boolean {
  return isNotFound(err) || isPopReceiptMismatch(err);
}

export function storageQueue(service: QueueServiceClient, name: string): QueueOps {
  return new StorageQueue(service.getQueueClient(name), name);
}

class StorageQueue implements QueueOps {
  constructor(
    private readonly client: QueueClient,
    readonly name: string,
  ) {}

  async createIfNotExists(): Promise<void> {
    await this.client.createIfNotExists();
  }

  async receive(count: number, visibilityTimeoutMs: number): Promise<ReceivedMessage[]> {
    const response = await this.client.receiveMessages({
      numberOfMessages: count,
      visibilityTimeout: toSeconds(visibilityTimeoutMs),
    });
    return response.receivedMessageItems.map((m) => ({
      messageId: m.messageId,
      popReceipt: m.popReceipt,
      messageText: m.messageText,
      dequeueCount: m.dequeueCount,
      insertedOn: m.insertedOn,
      expiresOn: m.expiresOn,
      nextVisibleOn: m.nextVisibleOn,
    }));
  }

  async delete(messageId: string, popReceipt: string): Promise<void> {
    await this.client.deleteMessage(messageId, popReceipt);
  }

  async setVisibility(messageId: string, popReceipt: string, visibilityTimeoutMs: number) {
    const r = await this.client.updateMessage(
      messageId,
      popReceipt,
      undefined,
      toSeconds(visibilityTimeoutMs),
    );
    return { popReceipt: r.popReceipt ?? popReceipt, nextVisibleOn: r.nextVisibleOn };
  }

  async send(text: string): Promise<void> {
    try {
      await this.client.sendMessage(text);
    } catch (err) {
      if (!isQueueNotFound(err)) throw err;
      await this.client.createIfNotExists();
      await this.client.sendMessage(text);
    }
  }
}
