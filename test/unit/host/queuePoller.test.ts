/**
 * The queue listener against an in-memory queue on a ManualClock: batching and the concurrency cap,
 * visibility renewal, completion (delete / release / poison), wake-ups and graceful stop.
 */
import { afterEach, describe, expect, it } from 'vitest';

import type { RegisteredFunction } from '../../../host/core/coreApi';
import type { InvocationOutcome, InvocationRequest } from '../../../host/core/invoker';
import { type QueuesOptions } from '../../../host/triggers/queue/options';
import { QueuePoller } from '../../../host/triggers/queue/poller';
import type { QueueOps, ReceivedMessage } from '../../../host/triggers/queue/storageQueue';
import { ManualClock } from '../../../shared/clock';
import { RecordingLogger } from '../../../shared/logger';
import { waitFor } from '../../helpers/waitFor';

interface Stored {
  id: string;
  text: string;
  dequeueCount: number;
  visibleAt: number;
  pop: string;
}

class FakeQueue implements QueueOps {
  readonly stored: Stored[] = [];
  readonly log: string[] = [];
  #seq = 0;

  constructor(
    readonly name: string,
    private readonly clock: ManualClock,
  ) {}

  async createIfNotExists(): Promise<void> {}

  async receive(count: number, visibilityTimeoutMs: number): Promise<ReceivedMessage[]> {
    const now = this.clock.now();
    const taken = this.stored.filter((m) => m.visibleAt <= now).slice(0, count);
    return taken.map((m) => {
      m.dequeueCount++;
      m.visibleAt = now + visibilityTimeoutMs;
      m.pop = `pop-${++this.#seq}`;
      return {
        messageId: m.id,
        popReceipt: m.pop,
        messageText: m.text,
        dequeueCount: m.dequeueCount,
        insertedOn: new Date(now),
        expiresOn: new Date(now + 7 * 86_400_000),
        nextVisibleOn: new Date(m.visibleAt),
      };
    });
  }

  #find(id: string, pop: string): Stored {
    const m = this.stored.find((s) => s.id === id);
    if (!m) throw Object.assign(new Error('gone'), { statusCode: 404, code: 'MessageNotFound' });
    if (m.pop !== pop)
      throw Object.assign(new Error('mismatch'), { statusCode: 400, code: 'PopReceiptMismatch' });
    return m;
  }

  async delete(id: string, pop: string): Promise<void> {
    this.#find(id, pop);
    this.stored.splice(
      this.stored.findIndex((s) => s.id === id),
      1,
    );
    this.log.push(`delete ${id}`);
  }

  async setVisibility(id: string, pop: string, ms: number) {
    const m = this.#find(id, pop);
    m.visibleAt = this.clock.now() + ms;
    m.pop = `pop-${++this.#seq}`;
    this.log.push(`visibility ${id} ${ms}`);
    return { popReceipt: m.pop };
  }

  async send(text: string): Promise<void> {
    const id = `m${++this.#seq}`;
    this.stored.push({ id, text, dequeueCount: 0, visibleAt: this.clock.now(), pop: '' });
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const fn: RegisteredFunction = {
  id: 'f',
  metadata: { name: 'f', bindings: { t: { type: 'queueTrigger', direction: 'in' } } },
  callback: () => undefined,
};

interface Harness {
  clock: ManualClock;
  queue: FakeQueue;
  poison: FakeQueue;
  poller: QueuePoller;
  logger: RecordingLogger;
  requests: InvocationRequest[];
  /** Pending invocations; resolve(ok) completes one. */
  pending: ((ok: boolean) => void)[];
  running: () => number;
}

let current: Harness | undefined;

function harness(
  options: Partial<QueuesOptions> = {},
  behaviour: 'manual' | 'fail' | 'ok' = 'manual',
): Harness {
  const clock = new ManualClock();
  const queue = new FakeQueue('q', clock);
  const poison = new FakeQueue('q-poison', clock);
  const logger = new RecordingLogger();
  const requests: InvocationRequest[] = [];
  const pending: ((ok: boolean) => void)[] = [];
  let active = 0;
  const invoker = {
    invoke: (_fn: RegisteredFunction, request: InvocationRequest): Promise<InvocationOutcome> => {
      requests.push(request);
      if (behaviour !== 'manual') {
        return Promise.resolve({ invocationId: 'i', ok: behaviour === 'ok', durationMs: 1 });
      }
      active++;
      return new Promise((resolve) =>
        pending.push((ok) => {
          active--;
          resolve({ invocationId: 'i', ok, durationMs: 1 });
        }),
      );
    },
  };
  const poller = new QueuePoller(
    {
      fn,
      trigger: fn.metadata.bindings.t!,
      queue,
      poisonQueue: poison,
      options: {
        batchSize: 2,
        newBatchThreshold: 1,
        maxPollingIntervalMs: 1000,
        visibilityTimeoutMs: 0,
        maxDequeueCount: 3,
        messageEncoding: 'base64',
        ...options,
      },
      processingVisibilityMs: 60_000,
      invoker,
      clock,
      logger,
    },
    () => 0.5,
  );
  current = { clock, queue, poison, poller, logger, requests, pending, running: () => active };
  return current;
}

/** Lets the poller run until it sleeps (or waits for invocations). */
async function settle(h: Harness): Promise<void> {
  await h.clock.advance(0);
}

afterEach(async () => {
  const h = current;
  current = undefined;
  if (!h) return;
  for (const finish of h.pending.splice(0)) finish(true);
  const stopping = h.poller.stop();
  await h.clock.advance(0);
  await stopping;
});

describe('QueuePoller', () => {
  it('runs at most batchSize + newBatchThreshold messages at once', async () => {
    const h = harness({ batchSize: 2, newBatchThreshold: 1 });
    for (let i = 0; i < 6; i++) await h.queue.send(b64(`m${i}`));
    await h.poller.start();
    await settle(h);
    // First batch of 2 (above threshold 1 → wait), nothing more yet.
    expect(h.running()).toBe(2);
    h.pending.shift()!(true);
    await settle(h);
    // Down to 1 running → next batch of 2 → 3 running.
    expect(h.running()).toBe(3);
    expect(h.requests).toHaveLength(4);
    while (h.pending.length) {
      h.pending.shift()!(true);
      await settle(h);
      expect(h.running()).toBeLessThanOrEqual(3);
    }
    expect(h.requests).toHaveLength(6);
    expect(h.queue.stored).toHaveLength(0);
  });

  it('renews the visibility at half the processing timeout and completes with the newest pop receipt', async () => {
    const h = harness();
    await h.queue.send(b64('long'));
    await h.poller.start();
    await settle(h);
    expect(h.running()).toBe(1);
    await h.clock.advance(30_000);
    expect(h.queue.log).toEqual(['visibility m1 60000']);
    await h.clock.advance(30_000);
    expect(h.queue.log).toEqual(['visibility m1 60000', 'visibility m1 60000']);
    h.pending.shift()!(true);
    await waitFor(() => h.queue.log.includes('delete m1'));
    expect(h.queue.stored).toHaveLength(0);
  });

  it('releases a failed message with visibilityTimeout, then poisons it at maxDequeueCount', async () => {
    const h = harness({ visibilityTimeoutMs: 5000, maxDequeueCount: 2 }, 'fail');
    await h.queue.send(b64('bad'));
    await h.poller.start();
    await settle(h);
    expect(h.queue.log).toEqual(['visibility m1 5000']);
    expect(h.requests).toHaveLength(1);
    await h.clock.advance(4000);
    expect(h.requests).toHaveLength(1); // still invisible
    await h.clock.advance(1000); // visible again; the next poll (≤ 1 s away) picks it up
    await h.clock.advance(1000);
    expect(h.requests.map((r) => r.triggerMetadata?.DequeueCount)).toEqual([{ int: 1 }, { int: 2 }]);
    expect(h.poison.stored.map((m) => m.text)).toEqual([b64('bad')]);
    expect(h.queue.stored).toHaveLength(0);
  });

  it('poisons a message dequeued more than maxDequeueCount times without invoking', async () => {
    const h = harness({}, 'ok');
    await h.queue.send(b64('tired'));
    h.queue.stored[0]!.dequeueCount = 3; // the 4th receive makes it 4 > 3
    await h.poller.start();
    await settle(h);
    expect(h.requests).toHaveLength(0);
    expect(h.poison.stored.map((m) => m.text)).toEqual([b64('tired')]);
    expect(h.logger.records.some((r) => /exceeded MaxDequeueCount of 3/.test(r.msg))).toBe(true);
  });

  it('backs off while empty and polls at once when woken', async () => {
    const h = harness({ maxPollingIntervalMs: 60_000 });
    await h.poller.start();
    await settle(h);
    await h.clock.advance(100);
    await h.clock.advance(200);
    await h.clock.advance(300);
    const delays = h.logger.records
      .filter((r) => r.msg === 'Queue is empty; backing off')
      .map((r) => r.fields.delayMs);
    expect(delays).toEqual([100, 200, 300, 500]);
    await h.queue.send(b64('now'));
    h.poller.wake();
    await settle(h);
    expect(h.requests).toHaveLength(1);
  });

  it('stop() waits for the message in flight and completes it', async () => {
    const h = harness();
    await h.queue.send(b64('inflight'));
    await h.poller.start();
    await settle(h);
    let stopped = false;
    const stopping = h.poller.stop().then(() => (stopped = true));
    await settle(h);
    expect(stopped).toBe(false);
    h.pending.shift()!(true);
    await stopping;
    expect(h.queue.log).toContain('delete m1');
  });

  it('leaves a failed message invisible when its queue has no poison queue', async () => {
    const clock = new ManualClock();
    const queue = new FakeQueue('q-poison', clock);
    const logger = new RecordingLogger();
    const poller = new QueuePoller({
      fn,
      trigger: fn.metadata.bindings.t!,
      queue,
      options: {
        batchSize: 1,
        newBatchThreshold: 0,
        maxPollingIntervalMs: 100,
        visibilityTimeoutMs: 0,
        maxDequeueCount: 1,
        messageEncoding: 'none',
      },
      processingVisibilityMs: 60_000,
      invoker: { invoke: async () => ({ invocationId: 'i', ok: false, durationMs: 1 }) },
      clock,
      logger,
    });
    await queue.send('x');
    await poller.start();
    await clock.advance(0);
    const stopping = poller.stop();
    await clock.advance(0);
    await stopping;
    expect(queue.log).toEqual([]);
    expect(queue.stored[0]!.visibleAt).toBe(clock.now() + 60_000);
  });
});
