/**
 * The shared host queue `azure-webjobs-blobtrigger-{hostId}` and the poison queue
 * `webjobs-blobtrigger-poison`, both in the host's own account (AzureWebJobsStorage), as the
 * real SharedBlobQueueListenerFactory sets them up.
 */
import type { QueueClient } from '@azure/storage-queue';

import type { StorageAccount } from '../../storage';
import {
  type BlobTriggerMessage,
  encodeMessage,
  hostQueueName,
  POISON_QUEUE,
  storageError,
} from './messages';

export interface ReceivedMessage {
  readonly id: string;
  /** Changes with every visibility update. */
  popReceipt: string;
  readonly dequeueCount: number;
  /** When the message was first queued (storage time). */
  readonly insertedOn: Date;
  readonly text: string;
}

export class HostQueue {
  readonly name: string;
  readonly #queue: QueueClient;
  readonly #poison: QueueClient;
  #poisonReady?: Promise<unknown>;

  constructor(account: StorageAccount, hostId: string) {
    this.name = hostQueueName(hostId);
    this.#queue = account.queue.getQueueClient(this.name);
    this.#poison = account.queue.getQueueClient(POISON_QUEUE);
  }

  /** Creates the queue if missing; returns the storage service's clock reading, when it gave one. */
  async ensure(): Promise<Date | undefined> {
    const res = await this.#queue.createIfNotExists();
    return res.date;
  }

  async send(message: BlobTriggerMessage): Promise<void> {
    await this.#queue.sendMessage(encodeMessage(message));
  }

  async receive(count: number, visibilitySeconds: number): Promise<ReceivedMessage[]> {
    const res = await this.#queue.receiveMessages({
      numberOfMessages: Math.max(1, Math.min(32, count)),
      visibilityTimeout: visibilitySeconds,
    });
    return res.receivedMessageItems.map((m) => ({
      id: m.messageId,
      popReceipt: m.popReceipt,
      dequeueCount: m.dequeueCount,
      insertedOn: m.insertedOn,
      text: m.messageText,
    }));
  }

  /** Deletes a message; one already gone (or re-received elsewhere) is not an error. */
  async delete(message: ReceivedMessage): Promise<void> {
    try {
      await this.#queue.deleteMessage(message.id, message.popReceipt);
    } catch (err) {
      if (storageError(err).status !== 404) throw err;
    }
  }

  /** Makes the message visible again after `seconds` (0 = now), keeping its text. */
  async setVisibility(message: ReceivedMessage, seconds: number): Promise<void> {
    const res = await this.#queue.updateMessage(message.id, message.popReceipt, undefined, seconds);
    if (res.popReceipt) message.popReceipt = res.popReceipt;
  }

  /** Copies the message to the poison queue, then removes it from the host queue. */
  async poison(message: ReceivedMessage): Promise<void> {
    this.#poisonReady ??= this.#poison.createIfNotExists().catch((err: unknown) => {
      this.#poisonReady = undefined;
      throw err;
    });
    await this.#poisonReady;
    await this.#poison.sendMessage(message.text);
    await this.delete(message);
  }
}
