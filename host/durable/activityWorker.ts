/**
 * Runs activity work items, up to maxConcurrentActivityFunctions at once: invoke the activity, then
 * hand its TaskCompleted / TaskFailed to the orchestration. In-process the work item stays leased
 * until the episode that records the result commits, then it is deleted; otherwise the result goes
 * to the orchestration's control queue first. A crash in between only repeats the activity
 * (activities run at least once). Long-running activities keep their work item invisible.
 */
import type { RpcTypedData } from '../core/rpcTypes';
import type { EngineContext } from './engineContext';
import { activityFailure, missingFunctionFailure } from './failures';
import { EventType, newEvent } from './history';
import { newId } from './ids';
import type { WorkItemMessage } from './messages';
import type { Delivered } from './queueTransport';
import { Semaphore } from './semaphore';

type Item = Delivered<WorkItemMessage>;

/** TaskCompleted.Result: JSON text of what the activity returned (§1.6). */
export function resultText(value: RpcTypedData | null | undefined): string | null {
  if (!value) return null;
  if (typeof value.string === 'string') return JSON.stringify(value.string);
  if (typeof value.json === 'string') return value.json;
  if (typeof value.int === 'number') return String(value.int);
  if (typeof value.double === 'number') return JSON.stringify(value.double);
  if (value.bytes) return JSON.stringify(Buffer.from(value.bytes).toString('base64'));
  return null;
}

export class ActivityWorker {
  readonly #slots: Semaphore;
  readonly #running = new Set<Promise<void>>();
  #onFree: () => void = () => undefined;

  constructor(private readonly ctx: EngineContext) {
    this.#slots = new Semaphore(ctx.options.maxConcurrentActivities);
  }

  get freeSlots(): number {
    return this.#slots.available;
  }

  /** Called whenever a slot frees up (the poller waits on it). */
  onSlotFreed(fn: () => void): void {
    this.#onFree = fn;
  }

  reserve(): boolean {
    return this.#slots.tryAcquire();
  }

  release(): void {
    this.#slots.release();
    this.#onFree();
  }

  /** Runs a work item in a slot already reserved for it. */
  run(item: Item): void {
    const work = this.#execute(item)
      .catch((err: unknown) => {
        // Left on the queue: it reappears after its visibility timeout and runs again.
        this.ctx.logger.warn('Activity result not delivered; the work item will be retried', {
          activity: item.body.name,
          instanceId: item.body.instanceId,
          err: (err as Error)?.message,
        });
      })
      .finally(() => {
        this.#running.delete(work);
        this.release();
      });
    this.#running.add(work);
  }

  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  async #execute(item: Item): Promise<void> {
    const { invoker, outbox, transport, functions, options, clock } = this.ctx;
    const w = item.body;
    const renewEvery = Math.max(1000, Math.floor(options.workItemQueueVisibilityMs / 2));
    let renewal = clock.setTimer(renewEvery, function renew(this: void) {
      void transport.renew(item, options.workItemQueueVisibilityMs).catch(() => undefined);
      renewal = clock.setTimer(renewEvery, renew);
    });
    let event;
    try {
      const fn = functions.get('activity', w.name);
      if (!fn) {
        event = newEvent(EventType.TaskFailed, clock.now(), {
          TaskScheduledId: w.taskId,
          ...missingFunctionFailure('an activity', w.name),
        });
      } else {
        const outcome = await invoker.invoke(fn, {
          triggerData: w.input === null ? {} : { string: w.input },
          logFields: { instanceId: w.instanceId, taskId: w.taskId },
        });
        event = outcome.ok
          ? newEvent(EventType.TaskCompleted, clock.now(), {
              TaskScheduledId: w.taskId,
              Result: resultText(outcome.response?.returnValue),
            })
          : newEvent(EventType.TaskFailed, clock.now(), {
              TaskScheduledId: w.taskId,
              ...activityFailure(w.name, outcome.error),
            });
      }
    } finally {
      renewal.cancel();
    }
    const completion = {
      id: newId(),
      instanceId: w.instanceId,
      executionId: w.executionId,
      token: w.token,
      event,
    };
    // In-process, the work item itself carries the result until the orchestration commits it.
    if (outbox.handOver(completion, item)) return;
    await outbox.control(completion);
    await transport.delete(item);
  }
}
