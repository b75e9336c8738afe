/**
 * Wires the durable engine for one task hub: storage, the outbox with its in-process hand-offs, the
 * per-instance dispatcher (orchestrations and entities), the activity worker, timers, and one poller
 * per control queue plus one for the work-item queue.
 */
import type { RegisteredFunction } from '../core/coreApi';
import type { HostServices } from '../plugin';
import { ActivityWorker } from './activityWorker';
import type { EngineContext } from './engineContext';
import { EntityProcessor } from './entityProcessor';
import { FunctionIndex } from './functionIndex';
import { hubResourceNames } from './hubNames';
import { HubStorage } from './hubStorage';
import { HistoryStore } from './historyStore';
import { InstanceClient } from './instanceClient';
import { InstanceDispatcher } from './instanceDispatcher';
import { InstanceStore } from './instanceStore';
import { LargePayloads } from './largePayloads';
import type { ControlMessage, WorkItemMessage } from './messages';
import type { DurableOptions } from './options';
import { OrchestrationProcessor } from './orchestrationProcessor';
import { type LocalSinks, Outbox } from './outbox';
import { QueuePoller } from './queuePoller';
import { type Delivered, QueueTransport } from './queueTransport';
import { TimerService } from './timers';
import { TimerStore } from './timerStore';

/** Control messages held in memory before the pollers pause. */
const MAX_PENDING = 2000;

export class DurableEngine {
  readonly ctx: EngineContext;
  readonly client: InstanceClient;
  readonly storage: HubStorage;
  readonly #dispatcher: InstanceDispatcher;
  readonly #worker: ActivityWorker;
  readonly #timers: TimerService;
  readonly #controlPollers: QueuePoller<Delivered<ControlMessage>>[];
  readonly #workPoller: QueuePoller<Delivered<WorkItemMessage>>;
  #accepting = false;

  constructor(services: HostServices, functions: readonly RegisteredFunction[], options: DurableOptions) {
    const { clock, logger: hostLogger, invoker } = services;
    const logger = hostLogger.child({ component: 'durable', hub: options.hubName });
    const account = services.storage.get(options.connectionName, 'durable task hub');
    this.storage = new HubStorage(account, hubResourceNames(options.hubName, options.partitionCount));
    const payloads = new LargePayloads(this.storage.container);
    const transport = new QueueTransport(payloads, clock);
    const timers = new TimerStore(this.storage.timers);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const engine = this;
    // The sinks close over components created below; they are only called once the engine runs.
    const sinks: LocalSinks = {
      get accepting() {
        return engine.#accepting;
      },
      control: (d) => engine.#dispatcher.accept(d),
      reserveActivity: () => engine.#worker.reserve(),
      releaseActivity: () => engine.#worker.release(),
      workItem: (d) => engine.#worker.run(d),
      workItemQueued: () => engine.#workPoller.queued(),
      timerScheduled: (partition, fireAt) => engine.#timers.scheduled(partition, fireAt),
    };
    const outbox = new Outbox(this.storage, transport, timers, options, sinks, logger);
    this.ctx = {
      options,
      history: new HistoryStore(this.storage.history, payloads),
      instances: new InstanceStore(this.storage.instances, payloads, options.hubName),
      timers,
      payloads,
      transport,
      outbox,
      functions: new FunctionIndex(functions),
      invoker,
      clock,
      logger,
    };
    this.client = new InstanceClient(this.ctx);
    this.#worker = new ActivityWorker(this.ctx);
    this.#timers = new TimerService(this.ctx);
    this.#dispatcher = new InstanceDispatcher(
      new OrchestrationProcessor(this.ctx),
      new EntityProcessor(this.ctx),
      transport,
      clock,
      logger,
      options.maxConcurrentOrchestrations,
      options.controlQueueVisibilityMs,
    );
    this.#controlPollers = this.storage.controlQueues.map(
      (queue) =>
        new QueuePoller<Delivered<ControlMessage>>({
          name: queue.name,
          clock,
          logger,
          maxIntervalMs: options.maxQueuePollingMs,
          capacity: () => Math.min(options.controlQueueBatchSize, MAX_PENDING - this.#dispatcher.pending),
          receive: (max) => transport.receive<ControlMessage>(queue, max, options.controlQueueVisibilityMs),
          handle: (d) => {
            if (!this.#dispatcher.accept(d)) void transport.release(d);
          },
        }),
    );
    this.#workPoller = new QueuePoller<Delivered<WorkItemMessage>>({
      name: this.storage.workItems.name,
      clock,
      logger,
      maxIntervalMs: options.maxQueuePollingMs,
      capacity: () => (this.#accepting ? this.#worker.freeSlots : 0),
      receive: (max) =>
        transport.receive<WorkItemMessage>(this.storage.workItems, max, options.workItemQueueVisibilityMs),
      handle: (d) => {
        if (this.#accepting && this.#worker.reserve()) this.#worker.run(d);
        else void transport.release(d);
      },
    });
    this.#worker.onSlotFreed(() => this.#workPoller.roomFreed());
  }

  async start(): Promise<void> {
    await this.storage.ensureCreated();
    this.#accepting = true;
    this.#dispatcher.start();
    this.#timers.start();
    for (const p of this.#controlPollers) p.start();
    this.#workPoller.start();
    this.ctx.logger.debug('Durable engine started', {
      partitions: this.ctx.options.partitionCount,
      maxConcurrentActivities: this.ctx.options.maxConcurrentActivities,
      maxConcurrentOrchestrations: this.ctx.options.maxConcurrentOrchestrations,
    });
  }

  async stop(): Promise<void> {
    this.#accepting = false;
    await Promise.all([...this.#controlPollers, this.#workPoller].map((p) => p.stop()));
    await this.#worker.drain();
    await this.#timers.stop();
    await this.#dispatcher.stop();
    this.ctx.logger.debug('Durable engine stopped');
  }
}
