/**
 * Everything an episode sends, written before its history (checkpoint step 1): control messages,
 * work items and timers. Messages are sent invisible and handed straight to this process's
 * consumers, so local hand-offs cost one queue write; if the process dies the queue copy reappears
 * after its visibility timeout. Messages to one destination keep their order.
 */
import type { Logger } from '../../shared/logger';
import { partitionOf } from './hubNames';
import type { HubStorage } from './hubStorage';
import type { ControlMessage, WorkItemMessage } from './messages';
import type { DurableOptions } from './options';
import type { Delivered, QueueTransport } from './queueTransport';
import { mapLimited } from './semaphore';
import type { TimerRow, TimerStore } from './timerStore';

export interface LocalSinks {
  /** Takes a control message this process sent; false when it is not taking work (stopping). */
  control(d: Delivered<ControlMessage>): boolean;
  /** Reserves an activity slot for a work item about to be sent. */
  reserveActivity(): boolean;
  releaseActivity(): void;
  workItem(d: Delivered<WorkItemMessage>): void;
  /** A work item went to the queue for the pollers. */
  workItemQueued(): void;
  timerScheduled(partition: number, fireAt: number): void;
  /** Whether local hand-offs are on (off while stopping, so nothing is left invisible). */
  readonly accepting: boolean;
}

export type Outgoing =
  | { kind: 'control'; message: ControlMessage }
  | { kind: 'workItem'; message: WorkItemMessage }
  | { kind: 'timer'; row: TimerRow };

const PARALLEL_SENDS = 16;

export class Outbox {
  constructor(
    private readonly storage: HubStorage,
    private readonly transport: QueueTransport,
    private readonly timers: TimerStore,
    private readonly options: DurableOptions,
    private readonly sinks: LocalSinks,
    private readonly logger: Logger,
  ) {}

  partitionOf(instanceId: string): number {
    return partitionOf(instanceId, this.options.partitionCount);
  }

  async control(message: ControlMessage): Promise<void> {
    const queue = this.storage.controlQueues[this.partitionOf(message.instanceId)];
    if (!queue) throw new Error('control queue missing');
    const local = this.sinks.accepting;
    const d = await this.transport.send(
      queue,
      message,
      message.instanceId,
      local ? this.options.controlQueueVisibilityMs : 0,
    );
    if (local && !this.sinks.control(d)) await this.transport.release(d);
  }

  async workItem(message: WorkItemMessage): Promise<void> {
    const local = this.sinks.accepting && this.sinks.reserveActivity();
    let d: Delivered<WorkItemMessage>;
    try {
      d = await this.transport.send(
        this.storage.workItems,
        message,
        message.instanceId,
        local ? this.options.workItemQueueVisibilityMs : 0,
      );
    } catch (err) {
      if (local) this.sinks.releaseActivity();
      throw err;
    }
    if (local) this.sinks.workItem(d);
    else this.sinks.workItemQueued();
  }

  /**
   * Hands a control message to this process without writing it: `carrier` is the queue message
   * that already holds what it records (an activity's work item), deleted once the episode commits.
   */
  handOver(message: ControlMessage, carrier: Delivered<unknown>): boolean {
    if (!this.sinks.accepting) return false;
    return this.sinks.control({ ...carrier, body: message });
  }

  async timer(row: TimerRow): Promise<void> {
    await this.timers.put(row);
    this.sinks.timerScheduled(row.partition, row.fireAt);
  }

  /** Sends everything: one destination's messages in order, destinations in parallel. */
  async sendAll(items: readonly Outgoing[]): Promise<void> {
    const lanes = new Map<string, Outgoing[]>();
    items.forEach((item, i) => {
      const lane = item.kind === 'control' ? `c:${item.message.instanceId}` : `${item.kind}:${i}`;
      const list = lanes.get(lane) ?? [];
      list.push(item);
      lanes.set(lane, list);
    });
    await mapLimited([...lanes.values()], PARALLEL_SENDS, async (lane) => {
      for (const item of lane) {
        if (item.kind === 'control') await this.control(item.message);
        else if (item.kind === 'workItem') await this.workItem(item.message);
        else await this.timer(item.row);
      }
    });
    this.logger.debug('Outbox sent', { count: items.length });
  }
}
