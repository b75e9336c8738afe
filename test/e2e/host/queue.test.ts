/**
 * The queue trigger and queue output binding against real Azurite, driven through startHost with the
 * fixture apps in test/fixtures/queue-app (base64, batchSize 4, newBatchThreshold 2, maxDequeueCount 3,
 * maxPollingInterval 500 ms) and queue-app-plain (messageEncoding none, visibilityTimeout 1 s).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { startHost, type HostHandle } from '../../../host/startHost';
import { createQueuePlugin } from '../../../host/triggers/queue';
import { type Clock, ManualClock } from '../../../shared/clock';
import { isTidemarkError } from '../../../shared/errors';
import { RecordingLogger } from '../../../shared/logger';
import { uniqueName, useAzurite } from '../../helpers/azurite';
import { waitFor } from '../../helpers/waitFor';

const azurite = useAzurite();
const MAIN_APP = path.join(__dirname, '../../fixtures/queue-app');
const PLAIN_APP = path.join(__dirname, '../../fixtures/queue-app-plain');
const MAIN_QUEUES = [
  'RecordQueue',
  'FlakyQueue',
  'ConcurrentQueue',
  'FanoutQueue',
  'OutQueue',
  'TableWriteQueue',
  'TableReadQueue',
  'SlowQueue',
];
const PLAIN_QUEUES = ['PlainQueue', 'PlainOutQueue', 'DelayQueue'];

interface AppState {
  calls: Record<string, unknown[]>;
  active: number;
  maxActive: number;
}
const appState = (): AppState =>
  ((globalThis as Record<string, unknown>).__queueApp ??= { calls: {}, active: 0, maxActive: 0 }) as AppState;
const plainState = (): { calls: Record<string, unknown[]> } =>
  ((globalThis as Record<string, unknown>).__queueAppPlain ??= { calls: {} }) as {
    calls: Record<string, unknown[]>;
  };
const calls = <T>(fn: string): T[] => (appState().calls[fn] ?? []) as T[];

interface TestHost {
  host: HostHandle;
  logger: RecordingLogger;
  names: Record<string, string>;
}

function queueNames(keys: string[]): Record<string, string> {
  return Object.fromEntries(
    keys.map((k) => [k, uniqueName(k.replace(/Queue$/, '').toLowerCase() + '-')]),
  ) as Record<string, string>;
}

async function startTestHost(
  options: { app?: string; names?: Record<string, string>; clock?: Clock; defaultPlugins?: boolean } = {},
): Promise<TestHost> {
  const app = options.app ?? MAIN_APP;
  const names = options.names ?? queueNames(app === MAIN_APP ? MAIN_QUEUES : PLAIN_QUEUES);
  const logger = new RecordingLogger();
  const host = startHost({
    appDir: app,
    port: 0,
    logger,
    clock: options.clock,
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'queue-host-')),
    useProcessEnv: false,
    plugins: options.defaultPlugins ? undefined : [createQueuePlugin()],
    settings: { AzureWebJobsStorage: azurite().connectionString, TableName: uniqueName('tbl'), ...names },
  });
  await host.ready;
  return { host, logger, names };
}

const service = () => QueueServiceClient.fromConnectionString(azurite().connectionString);
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');

async function send(queue: string, text: string): Promise<string> {
  const client = service().getQueueClient(queue);
  await client.createIfNotExists();
  return (await client.sendMessage(text)).messageId;
}

/** Texts of the visible messages in a queue (peek leaves them in place). */
async function peekAll(queue: string): Promise<string[]> {
  const client = service().getQueueClient(queue);
  if (!(await client.exists())) return [];
  const { peekedMessageItems } = await client.peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems.map((m) => m.messageText);
}

async function messageCount(queue: string): Promise<number> {
  const client = service().getQueueClient(queue);
  if (!(await client.exists())) return 0;
  return (await client.getProperties()).approximateMessagesCount ?? 0;
}

beforeEach(() => {
  Object.assign(appState(), { calls: {}, active: 0, maxActive: 0 });
  plainState().calls = {};
});

describe('queue trigger (base64 app)', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.host.dispose();
  });

  it('creates the trigger queues (names from %Setting%) on start', async () => {
    expect(await service().getQueueClient(t.names.RecordQueue!).exists()).toBe(true);
    expect(await service().getQueueClient(t.names.FlakyQueue!).exists()).toBe(true);
  });

  it('decodes base64 and hands JSON over parsed, with the trigger metadata', async () => {
    const before = new Date(Date.now() - 60_000);
    const id = await send(t.names.RecordQueue!, b64(JSON.stringify({ orderId: 'o-1', qty: 2 })));
    type Call = { item: unknown; triggerMetadata: Record<string, unknown> };
    const [call] = await waitFor(() => calls<Call>('record').length > 0 && calls<Call>('record'), {
      what: 'record call',
    });
    expect(call!.item).toEqual({ orderId: 'o-1', qty: 2 });
    const md = call!.triggerMetadata;
    expect(md.id).toBe(id);
    expect(md.dequeueCount).toBe(1);
    expect(md.queueTrigger).toEqual({ orderId: 'o-1', qty: 2 });
    expect(typeof md.popReceipt).toBe('string');
    for (const key of ['insertionTime', 'expirationTime', 'nextVisibleTime']) {
      expect(typeof md[key]).toBe('string');
      expect(new Date(md[key] as string).getTime()).toBeGreaterThan(before.getTime());
    }
    expect(new Date(md.expirationTime as string).getTime()).toBeGreaterThan(
      new Date(md.insertionTime as string).getTime(),
    );
    await waitFor(async () => (await messageCount(t.names.RecordQueue!)) === 0, { what: 'message deleted' });
  });

  it('hands plain text over as a string and numbers as numbers', async () => {
    await send(t.names.RecordQueue!, b64('hello world'));
    await send(t.names.RecordQueue!, b64('42'));
    const got = await waitFor(
      () =>
        calls<{ item: unknown; type: string }>('record').length === 2 &&
        calls<{ item: unknown; type: string }>('record'),
    );
    expect(got.map((c) => c.item).sort()).toEqual([42, 'hello world']);
  });

  it('moves a message that is not base64 to the poison queue without invoking', async () => {
    await send(t.names.RecordQueue!, 'not base64!');
    const poison = `${t.names.RecordQueue}-poison`;
    const texts = await waitFor(
      async () => {
        const m = await peekAll(poison);
        return m.length > 0 && m;
      },
      { what: 'poison message' },
    );
    expect(texts).toEqual(['not base64!']);
    expect(calls('record')).toHaveLength(0);
    expect(await messageCount(t.names.RecordQueue!)).toBe(0);
    expect(t.logger.records.some((r) => r.level === 'error' && /cannot be decoded/.test(r.msg))).toBe(true);
  });

  it('retries a failing message with a growing dequeueCount, then moves it to <queue>-poison', async () => {
    const body = b64(JSON.stringify({ id: 'f1' }));
    await send(t.names.FlakyQueue!, body);
    const poison = `${t.names.FlakyQueue}-poison`;
    const texts = await waitFor(
      async () => {
        const m = await peekAll(poison);
        return m.length > 0 && m;
      },
      { what: 'poison message' },
    );
    expect(texts).toEqual([body]);
    expect(unb64(texts[0]!)).toBe('{"id":"f1"}');
    expect(calls<{ dequeueCount: number }>('flaky').map((c) => c.dequeueCount)).toEqual([1, 2, 3]);
    expect(await messageCount(t.names.FlakyQueue!)).toBe(0);
    expect(t.logger.records.some((r) => /reached MaxDequeueCount of 3/.test(r.msg))).toBe(true);
  });

  it('never runs more than batchSize + newBatchThreshold at once', async () => {
    const client = service().getQueueClient(t.names.ConcurrentQueue!);
    await Promise.all(Array.from({ length: 16 }, (_, i) => client.sendMessage(b64(String(i)))));
    await waitFor(() => calls('concurrent').length === 16, { what: '16 calls', timeoutMs: 20_000 });
    expect(appState().maxActive).toBeGreaterThanOrEqual(4);
    expect(appState().maxActive).toBeLessThanOrEqual(4 + 2);
  });

  it('writes return and extra queue outputs: one message, an array, and {orderId} in the name', async () => {
    await send(t.names.FanoutQueue!, b64(JSON.stringify({ orderId: 'a1' })));
    await send(t.names.FanoutQueue!, b64(JSON.stringify({ orderId: 'a2', many: true })));
    const out = await waitFor(
      async () => {
        const m = await peekAll(t.names.OutQueue!);
        return m.length === 4 && m;
      },
      { what: 'four output messages' },
    );
    expect(out.map(unb64).sort()).toEqual(
      ['{"echo":{"orderId":"a1"}}', '{"n":1}', '{"n":2}', 'plain text'].sort(),
    );
    expect((await peekAll('orders-a1')).map(unb64)).toEqual(['{"orderId":"a1","seen":true}']);
    expect((await peekAll('orders-a2')).map(unb64)).toEqual(['{"orderId":"a2","seen":true}']);
  });
});

describe('queue trigger (plain app: messageEncoding none, visibilityTimeout 1 s)', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost({ app: PLAIN_APP });
  });
  afterAll(async () => {
    await t?.host.dispose();
  });

  it('reads and writes unencoded messages', async () => {
    await send(t.names.PlainQueue!, 'raw text, not base64');
    await send(t.names.PlainQueue!, '{"k":"v"}');
    const out = await waitFor(async () => {
      const m = await peekAll(t.names.PlainOutQueue!);
      return m.length === 2 && m;
    });
    expect(out.sort()).toEqual(['echo:raw text, not base64', 'echo:{"k":"v"}']);
    expect(plainState().calls.plainEcho).toEqual(
      expect.arrayContaining(['raw text, not base64', { k: 'v' }]),
    );
  });

  it('makes a failed message visible again only after visibilityTimeout', async () => {
    await send(t.names.DelayQueue!, 'retry me');
    const attempts = await waitFor(
      () => {
        const c = (plainState().calls.retryLater ?? []) as { at: number; dequeueCount: number }[];
        return c.length === 2 && c;
      },
      { what: 'second attempt' },
    );
    expect(attempts.map((a) => a.dequeueCount)).toEqual([1, 2]);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(900);
    await waitFor(async () => (await messageCount(t.names.DelayQueue!)) === 0, { what: 'deleted' });
  });
});

describe('queue listener lifecycle', () => {
  it('fails to start when a %Setting% queue name is not set', async () => {
    const names = queueNames(MAIN_QUEUES);
    delete names.RecordQueue;
    const err = await startTestHost({ names }).catch((e: unknown) => e);
    expect(isTidemarkError(err, 'InvalidConfig')).toBe(true);
    expect((err as Error).message).toMatch(/%RecordQueue%/);
  });

  it('runs in the default plugin set', async () => {
    const t = await startTestHost({ defaultPlugins: true });
    try {
      await send(t.names.RecordQueue!, b64('via defaults'));
      await waitFor(() => calls('record').length === 1, { what: 'record call' });
    } finally {
      await t.host.dispose();
    }
  });

  it('lets a message in flight finish on stop and deletes it', async () => {
    const t = await startTestHost();
    await send(t.names.SlowQueue!, b64('slow-1'));
    await waitFor(() => calls('slowStarted').length === 1, { what: 'slow start' });
    await t.host.dispose();
    expect(calls('slowFinished')).toEqual(['slow-1']);
    expect(await messageCount(t.names.SlowQueue!)).toBe(0);
  });

  it('picks up the messages left in the queue when the host starts again', async () => {
    const first = await startTestHost();
    await first.host.dispose();
    for (const n of ['r1', 'r2', 'r3']) await send(first.names.RecordQueue!, b64(n));
    const second = await startTestHost({ names: first.names });
    try {
      await waitFor(() => calls('record').length === 3, { what: 'three calls' });
      expect(
        calls<{ item: unknown }>('record')
          .map((c) => c.item)
          .sort(),
      ).toEqual(['r1', 'r2', 'r3']);
    } finally {
      await second.host.dispose();
    }
  });

  it('backs off exponentially while the queue is empty and polls fast again after a message', async () => {
    const clock = new ManualClock();
    const t = await startTestHost({ clock });
    const queue = t.names.RecordQueue!;
    const delays = () =>
      t.logger.records
        .filter((r) => r.msg === 'Queue is empty; backing off' && r.fields.queue === queue)
        .map((r) => r.fields.delayMs as number);
    const nextDelay = async (n: number): Promise<number> => {
      const d = await waitFor(() => delays().length >= n && clock.pendingTimers > 0 && delays(), {
        what: `back-off #${n}`,
      });
      return d[n - 1]!;
    };
    try {
      const observed: number[] = [];
      for (let n = 1; n <= 5; n++) {
        observed.push(await nextDelay(n));
        await clock.advance(observed[n - 1]!);
      }
      expect(observed[0]).toBe(100);
      expect(observed[1]).toBeGreaterThanOrEqual(180);
      expect(observed[1]).toBeLessThanOrEqual(220);
      expect(observed[2]).toBeGreaterThanOrEqual(260);
      expect(observed[2]).toBeLessThanOrEqual(340);
      expect(observed[3]).toBeGreaterThan(observed[2]!);
      expect(observed[4]).toBe(500); // maxPollingInterval caps it

      expect(await nextDelay(6)).toBe(500);
      await send(queue, b64('wake up'));
      await clock.advance(500);
      await waitFor(() => calls('record').length === 1, { what: 'record call' });
      expect(await nextDelay(7)).toBe(100);
    } finally {
      const disposing = t.host.dispose();
      await clock.advance(1000);
      await disposing;
    }
  });
});
