/**
 * The `queue` output binding (`output.storageQueue({queueName, connection})`). The value becomes
 * messages as the real binding's converters do: a string is one message as it is, an object one JSON
 * message, bytes one binary message, a number its text, and an array one message per element.
 * Messages are encoded under `extensions.queues.messageEncoding` (base64 by default, as the extension
 * configures its QueueClient). The queue name may use binding expressions (`%Setting%`, `{orderId}`,
 * `{rand-guid}`); it is lower-cased and validated, and the queue is created when missing.
 */
import { TidemarkError } from '../../shared/errors';
import type { RpcBindingInfo, RpcTypedData } from '../core/rpcTypes';
import type { BindingContext, BindingProvider } from '../plugin';
import { encodeMessageBody } from '../triggers/queue/encoding';
import { normalizeQueueName } from '../triggers/queue/names';
import { queuesOptions } from '../triggers/queue/options';
import { storageQueue } from '../triggers/queue/storageQueue';
import type { QueueWatcher } from '../triggers/queue/watcher';
import { resolveBindingExpression } from './expressions';

export function createQueueOutputBinding(watcher?: QueueWatcher): BindingProvider {
  return {
    async writeOutput(binding: RpcBindingInfo, data: RpcTypedData, ctx: BindingContext): Promise<void> {
      const { services } = ctx;
      const what = `Queue output "${String(binding.name ?? 'queue')}" of function "${ctx.functionName}"`;
      const template = typeof binding.queueName === 'string' ? binding.queueName : '';
      if (!template.trim()) throw new TidemarkError('InvalidConfig', `${what} has no queueName.`);
      const resolved = resolveBindingExpression(
        template,
        ctx.bindingData,
        services.settings,
        new Date(services.clock.now()),
        what,
      );
      const queueName = normalizeQueueName(resolved, what);
      const connection = typeof binding.connection === 'string' ? binding.connection : undefined;
      const account = services.storage.get(connection, `queue output of function "${ctx.functionName}"`);
      const encoding = queuesOptions(services.hostJson).messageEncoding;
      const queue = storageQueue(account.queue, queueName);
      for (const body of queueMessages(data, what)) {
        await queue.send(encodeMessageBody(body, encoding));
      }
      watcher?.notify(account.connectionString, queueName);
    },
  };
}

/** The message bodies an output value stands for. */
export function queueMessages(data: RpcTypedData, what: string): (string | Uint8Array)[] {
  if (data.string !== undefined && data.string !== null) return [data.string];
  if (data.bytes) return [data.bytes];
  if (data.int !== undefined && data.int !== null) return [String(data.int)];
  if (data.double !== undefined && data.double !== null) return [String(data.double)];
  if (data.collectionString?.string) return data.collectionString.string;
  if (data.collectionBytes?.bytes) return data.collectionBytes.bytes;
  if (data.collectionDouble?.double) return data.collectionDouble.double.map(String);
  if (data.collectionSint64?.sint64) return data.collectionSint64.sint64.map(String);
  if (data.json !== undefined && data.json !== null) {
    const value: unknown = JSON.parse(data.json);
    if (!Array.isArray(value)) return [data.json];
    return value.map((element: unknown, i) => {
      if (element === null || element === undefined) {
        throw new TidemarkError(
          'InvalidArgument',
          `${what}: element ${i} is null; cannot enqueue a null message.`,
        );
      }
      return typeof element === 'string' ? element : JSON.stringify(element);
    });
  }
  throw new TidemarkError('InvalidArgument', `${what}: the value cannot be written as queue messages.`, {
    hint: 'Set a string, an object, a Buffer, or an array of them.',
  });
}
