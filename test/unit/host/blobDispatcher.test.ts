import { afterEach, describe, expect, it } from 'vitest';

import type { BlobTriggerConfig } from '../../../host/triggers/blob/config';
import { Dispatcher } from '../../../host/triggers/blob/dispatcher';
import type { BlobExecutor, Decision } from '../../../host/triggers/blob/executor';
import type { HostQueue, ReceivedMessage } from '../../../host/triggers/blob/hostQueue';
import { ManualClock } from '../../../shared/clock';
import { silentLogger } from '../../../shared/logger';

const CONFIG: BlobTriggerConfig = {
  maxDegreeOfParallelism: 4,
  poisonBlobThreshold: 5,
  pollIntervalMs: 250,
  retryDelaySeconds: 1,
};

/** A host queue in memory that records how many messages each receive asked for and got. */
class FakeQueue {
  readonly waiting: ReceivedMessage[] = [];
  readonly receives: { asked: number; got: number }[] = [];
  readonly deleted: string[] = [];
  #next = 0;

  add(count: number): void {
    for (let i = 0; i < count; i++) {
      const id = `m${this.#next++}`;
      this.waiting.push({ id, popReceipt: 'p', dequeueCount: 1, insertedOn: new Date(), text: id });
    }
  }

  async receive(count: number): Promise<ReceivedMessage[]> {
    const got = this.waiting.splice(0, count);
    this.receives.push({ asked: count, got: got.length });
    return got;
  }

  async delete(message: ReceivedMessage): Promise<void> {
    this.deleted.push(message.id);
  }

  async setVisibility(): Promise<void> {}

  async poison(): Promise<void> {}
}

const stops: AbortController[] = [];

afterEach(() => {
  for (const stop of stops.splice(0)) stop.abort();
});

function start(queue: FakeQueue, clock: ManualClock): { dispatcher: Dispatcher; running: Promise<void> } {
  const executor = { execute: async (): Promise<Decision> => ({ action: 'delete' }) };
  const stop = new AbortController();
  stops.push(stop);
  const dispatcher = new Dispatcher(
    queue as unknown as HostQueue,
    executor as unknown as BlobExecutor,
    CONFIG,
    clock,
    silentLogger,
    stop.signal,
  );
  return { dispatcher, running: dispatcher.run() };
}

describe('blob trigger Dispatcher', () => {
  it('after an answer with fewer messages than asked, looks again at the next poll, not at once', async () => {
    const clock = new ManualClock();
    const queue = new FakeQueue();
    queue.add(1);
    start(queue, clock);
    await clock.advance(0);
    expect(queue.receives).toEqual([{ asked: 4, got: 1 }]);
    expect(queue.deleted).toEqual(['m0']);

    await clock.advance(CONFIG.pollIntervalMs - 1);
    expect(queue.receives).toHaveLength(1);
    await clock.advance(1);
    expect(queue.receives).toEqual([
      { asked: 4, got: 1 },
      { asked: 4, got: 0 },
    ]);
  });

  it('looks again at once when woken, and while the answers are full', async () => {
    const clock = new ManualClock();
    const queue = new FakeQueue();
    const { dispatcher } = start(queue, clock);
    await clock.advance(0);
    expect(queue.receives).toEqual([{ asked: 4, got: 0 }]);

    // Something was queued: the scanner wakes the dispatcher, which drains the queue in full
    // answers and only then waits again.
    queue.add(9);
    dispatcher.wake();
    await clock.advance(0);
    const woken = queue.receives.slice(1);
    expect(woken.reduce((sum, r) => sum + r.got, 0)).toBe(9);
    expect(woken.slice(0, -1).every((r) => r.got === r.asked)).toBe(true);
    expect(woken.at(-1)!.got).toBeLessThan(woken.at(-1)!.asked);
    expect(queue.deleted).toHaveLength(9);
    const seen = queue.receives.length;
    await clock.advance(CONFIG.pollIntervalMs - 1);
    expect(queue.receives).toHaveLength(seen);
    await clock.advance(1);
    expect(queue.receives).toHaveLength(seen + 1);
  });
});
