/**
 * The queue trigger plugin (`app.storageQueue`), with the storage output/input bindings that ride
 * along: `queue` (output.storageQueue) and `table` (output.table / input.table). One listener per
 * function polls its queue (see poller.ts); host.json `extensions.queues` configures them all.
 */
import { TidemarkError } from '../../../shared/errors';
import { readTableInput } from '../../bindings/tableInput';
import { writeTableOutput } from '../../bindings/tableOutput';
import { createQueueOutputBinding } from '../../bindings/queueOutput';
import type { RegisteredFunction } from '../../core/coreApi';
import { functionsOfType, type HostServices, triggerBinding, type TriggerPlugin } from '../../plugin';
import { normalizeQueueName, poisonQueueName } from './names';
import { queuesOptions } from './options';
import { QueuePoller } from './poller';
import { storageQueue } from './storageQueue';
import { QueueWatcher } from './watcher';

export interface QueuePluginOptions {
  /** How long a received message stays invisible while its function runs; renewed at half. Default 10 min. */
  processingVisibilityMs?: number;
  /** Randomness for the polling back-off (tests). */
  random?: () => number;
}

const TRIGGER_TYPES = ['queuetrigger'] as const;
const DEFAULT_PROCESSING_VISIBILITY_MS = 10 * 60_000;

interface Listener {
  poller: QueuePoller;
  account: string;
  queue: string;
  unregister?: () => void;
}

export function createQueuePlugin(pluginOptions: QueuePluginOptions = {}): TriggerPlugin {
  const watcher = new QueueWatcher();
  let listeners: Listener[] = [];
  return {
    name: 'queue',
    triggerTypes: TRIGGER_TYPES,
    bindings: {
      queue: createQueueOutputBinding(watcher),
      table: { resolveInput: readTableInput, writeOutput: writeTableOutput },
    },
    init(services, functions) {
      listeners = functionsOfType(functions, TRIGGER_TYPES).map((fn) =>
        createListener(fn, services, watcher, pluginOptions),
      );
    },
    async start() {
      for (const listener of listeners) {
        listener.unregister = watcher.register(listener.account, listener.queue, () =>
          listener.poller.wake(),
        );
        await listener.poller.start();
      }
    },
    async stop() {
      await Promise.all(listeners.map((l) => l.poller.stop()));
      for (const l of listeners) l.unregister?.();
    },
  };
}

function createListener(
  fn: RegisteredFunction,
  services: HostServices,
  watcher: QueueWatcher,
  pluginOptions: QueuePluginOptions,
): Listener {
  const name = fn.metadata.name;
  const what = `The queue trigger of function "${name}"`;
  const options = queuesOptions(services.hostJson);
  const trigger = triggerBinding(fn).binding;
  const rawName = typeof trigger.queueName === 'string' ? trigger.queueName : '';
  if (!rawName.trim()) {
    throw new TidemarkError('InvalidConfig', `${what} has no queueName.`, {
      hint: "Pass queueName to app.storageQueue(), e.g. queueName: 'orders' or '%OrdersQueue%'.",
    });
  }
  const queueName = normalizeQueueName(services.settings.resolve(rawName, what), what);
  const connection = typeof trigger.connection === 'string' ? trigger.connection : undefined;
  const account = services.storage.get(connection, `queue trigger of function "${name}"`);
  const poisonName = poisonQueueName(queueName);
  const logger = services.logger.child({ function: name, queue: queueName });

  if (fn.metadata.retryOptions?.retryStrategy || services.hostJson.retry !== undefined) {
    logger.warn(
      `Retries are not supported for function '${name}': queue-triggered functions are retried ` +
        `through the queue (up to maxDequeueCount ${options.maxDequeueCount}), not by a retry policy.`,
    );
  }

  const poller = new QueuePoller(
    {
      fn,
      trigger,
      queue: storageQueue(account.queue, queueName),
      poisonQueue: poisonName ? storageQueue(account.queue, poisonName) : undefined,
      options,
      processingVisibilityMs: pluginOptions.processingVisibilityMs ?? DEFAULT_PROCESSING_VISIBILITY_MS,
      invoker: services.invoker,
      clock: services.clock,
      logger,
      onPoisoned: (queue) => watcher.notify(account.connectionString, queue),
    },
    pluginOptions.random,
  );
  return { poller, account: account.connectionString, queue: queueName };
}
