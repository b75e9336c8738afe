/**
 * The blob trigger plugin: watches containers for new blob versions, records each in a receipt,
 * queues it on the shared host queue and runs the functions from there with bounded parallelism,
 * retries and a poison queue (see docs/local-host.md, "Blob trigger"). Also provides the `blob`
 * input/output binding.
 */
import { setMaxListeners } from 'node:events';

import { createBlobBindingProvider } from '../../bindings/blobBindings';
import type { HostServices, TriggerPlugin } from '../../plugin';
import { type BlobTriggerConfig, loadBlobTriggerConfig } from './config';
import { Dispatcher } from './dispatcher';
import { BlobExecutor } from './executor';
import { HostQueue } from './hostQueue';
import { Receipts } from './receipts';
import { BLOB_TRIGGER_TYPES, type BlobFunction, blobFunctions } from './registry';
import { ContainerScanner, type ScanGroup, scanGroups } from './scanner';
import { blobWebhook } from './webhook';

interface Running {
  services: HostServices;
  executor: BlobExecutor;
  functions: BlobFunction[];
  config: BlobTriggerConfig;
  queue: HostQueue;
  receipts: Receipts;
  dispatcher: Dispatcher;
  groups: ScanGroup[];
  controller: AbortController;
  loops: Promise<void>[];
}

export function createBlobPlugin(): TriggerPlugin {
  let running: Running | undefined;
  let stopped = false;

  return {
    name: 'blob',
    triggerTypes: BLOB_TRIGGER_TYPES,
    bindings: { blob: createBlobBindingProvider() },

    init(services, functions) {
      const config = loadBlobTriggerConfig(services.hostJson, services.settings);
      const blobFns = blobFunctions(functions, services);
      if (blobFns.length === 0) return;
      const logger = services.logger.child({ plugin: 'blob' });
      for (const bf of blobFns) {
        if (bf.fn.metadata.retryOptions?.retryStrategy || services.hostJson.retry !== undefined) {
          logger.warn(
            `Retries are not supported for function '${bf.name}': blob-triggered functions are ` +
              `retried through the host queue (up to poisonBlobThreshold ${config.poisonBlobThreshold}), ` +
              'not by a retry policy.',
          );
        }
      }
      const hostAccount = services.storage.get(undefined, 'blob trigger (receipts and host queue)');
      const controller = new AbortController();
      setMaxListeners(0, controller.signal); // one listener per scanner and waiting loop
      const queue = new HostQueue(hostAccount, services.hostId);
      const wake = { dispatcher: undefined as Dispatcher | undefined };
      const receipts = new Receipts(hostAccount, services.hostId, queue, services.clock, () =>
        wake.dispatcher?.wake(),
      );
      const executor = new BlobExecutor(blobFns, receipts, services, config, logger);
      const dispatcher = new Dispatcher(queue, executor, config, services.clock, logger, controller.signal);
      wake.dispatcher = dispatcher;
      running = {
        services,
        executor,
        functions: blobFns,
        config,
        queue,
        receipts,
        dispatcher,
        groups: scanGroups(blobFns),
        controller,
        loops: [],
      };
    },

    async start() {
      if (!running) return;
      const { services, executor, functions, config, queue, receipts, dispatcher, groups, controller } =
        running;
      const logger = services.logger.child({ plugin: 'blob' });
      // Watched containers are created when missing (a choice; see docs/local-host.md).
      await Promise.all([
        queue.ensure().then((storageNow) => executor.started(storageNow)),
        receipts.ensure(),
        ...groups.map((g) => g.account.blob.getContainerClient(g.container).createIfNotExists()),
      ]);
      services.http.use(blobWebhook(functions, services, receipts, logger, () => stopped));
      const failed = (what: string) => (err: unknown) =>
        logger.error(`Blob trigger ${what} stopped unexpectedly`, {
          err: (err as Error)?.stack ?? String(err),
        });
      running.loops.push(dispatcher.run().catch(failed('dispatcher')));
      for (const group of groups) {
        const scanner = new ContainerScanner(group, receipts, config, services.clock, logger);
        running.loops.push(scanner.run(controller.signal).catch(failed('scanner')));
      }
      logger.info('Blob triggers listening', {
        functions: functions.map(
          (f) => `${f.name} (${f.path.pattern}${f.source === 'EventGrid' ? ', EventGrid' : ''})`,
        ),
        hostQueue: queue.name,
        pollIntervalMs: config.pollIntervalMs,
        maxDegreeOfParallelism: config.maxDegreeOfParallelism,
      });
    },

    async stop() {
      stopped = true;
      if (!running) return;
      running.controller.abort();
      await Promise.all(running.loops);
    },
  };
}
