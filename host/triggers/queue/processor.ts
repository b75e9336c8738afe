/**
 * Runs one received message the way the real QueueProcessor does:
 * - dequeueCount above maxDequeueCount (a host died mid-run): straight to the poison queue;
 * - a body that cannot be decoded (plain text under base64 encoding): straight to the poison queue,
 *   text unchanged, without invoking (the extension's MessageDecodingFailed handler);
 * - success: delete; failure: at maxDequeueCount move to `<queue>-poison` (original text) and delete,
 *   else make it visible again after `visibilityTimeout`;
 * - a queue without a poison queue (its name ends in -poison, or would be too long) leaves a failed
 *   message invisible until its processing lease runs out, to avoid a fast infinite loop.
 * Function retry policies are not applied: queue triggers retry through the dequeue count only.
 */
import type { Clock } from '../../../shared/clock';
import type { Logger } from '../../../shared/logger';
import type { RegisteredFunction } from '../../core/coreApi';
import type { Invoker } from '../../core/invoker';
import type { RpcBindingInfo } from '../../core/rpcTypes';
import { decodeMessageText } from './encoding';
import { queueTriggerData } from './metadata';
import type { QueuesOptions } from './options';
import { type Lease, VisibilityRenewer } from './renewal';
import { isMessageLost, type QueueOps, type ReceivedMessage } from './storageQueue';

export interface MessageProcessorContext {
  fn: RegisteredFunction;
  trigger: RpcBindingInfo;
  queue: QueueOps;
  poisonQueue?: QueueOps;
  options: QueuesOptions;
  /** How long a received message stays invisible while its function runs (renewed at half). */
  processingVisibilityMs: number;
  invoker: Pick<Invoker, 'invoke'>;
  clock: Clock;
  logger: Logger;
  /** Called after a message was added to the poison queue. */
  onPoisoned?(queue: string): void;
}

export async function processMessage(ctx: MessageProcessorContext, message: ReceivedMessage): Promise<void> {
  const lease: Lease = { messageId: message.messageId, popReceipt: message.popReceipt };
  const fields = { queue: ctx.queue.name, messageId: message.messageId, dequeueCount: message.dequeueCount };
  if (message.dequeueCount > ctx.options.maxDequeueCount) {
    await moveToPoison(
      ctx,
      message,
      lease,
      `Message has exceeded MaxDequeueCount of ${ctx.options.maxDequeueCount}.`,
    );
    return;
  }
  const decoded = decodeMessageText(message.messageText, ctx.options.messageEncoding);
  if (!decoded.ok) {
    ctx.logger.error(`Queue message cannot be decoded: ${decoded.reason}.`, {
      ...fields,
      hint: 'Send Base64 text (the @azure/storage-queue client does not encode), or set extensions.queues.messageEncoding to "none".',
    });
    await moveToPoison(ctx, message, lease, 'Message cannot be decoded.');
    return;
  }

  const renewer = new VisibilityRenewer(ctx.queue, lease, ctx.processingVisibilityMs, ctx.clock, ctx.logger);
  renewer.start();
  let ok: boolean;
  try {
    const data = queueTriggerData(message, decoded.bytes, ctx.trigger);
    const outcome = await ctx.invoker.invoke(ctx.fn, { ...data, logFields: fields });
    ok = outcome.ok;
  } finally {
    await renewer.stop();
  }

  if (ok) {
    await deleteMessage(ctx, lease);
  } else if (!ctx.poisonQueue) {
    ctx.logger.warn(
      'Queue message failed; its queue has no poison queue, so it stays invisible for now',
      fields,
    );
  } else if (message.dequeueCount >= ctx.options.maxDequeueCount) {
    await moveToPoison(
      ctx,
      message,
      lease,
      `Message has reached MaxDequeueCount of ${ctx.options.maxDequeueCount}.`,
    );
  } else {
    await release(ctx, lease);
  }
}

async function moveToPoison(
  ctx: MessageProcessorContext,
  message: ReceivedMessage,
  lease: Lease,
  reason: string,
): Promise<void> {
  const poison = ctx.poisonQueue;
  const fields = { queue: ctx.queue.name, messageId: message.messageId, dequeueCount: message.dequeueCount };
  if (!poison) {
    ctx.logger.warn(`${reason} Its queue has no poison queue, so the message stays where it is.`, fields);
    return;
  }
  ctx.logger.warn(`${reason} Moving message to queue '${poison.name}'.`, {
    ...fields,
    poisonQueue: poison.name,
  });
  await poison.send(message.messageText);
  ctx.onPoisoned?.(poison.name);
  await deleteMessage(ctx, lease);
}

async function deleteMessage(ctx: MessageProcessorContext, lease: Lease): Promise<void> {
  try {
    await ctx.queue.delete(lease.messageId, lease.popReceipt);
  } catch (err) {
    if (!isMessageLost(err)) throw err;
    ctx.logger.debug('Queue message was already gone or taken over; not deleting it', {
      queue: ctx.queue.name,
      messageId: lease.messageId,
    });
  }
}

async function release(ctx: MessageProcessorContext, lease: Lease): Promise<void> {
  try {
    await ctx.queue.setVisibility(lease.messageId, lease.popReceipt, ctx.options.visibilityTimeoutMs);
  } catch (err) {
    if (!isMessageLost(err)) throw err;
  }
}
