/**
 * output.table and input.table against real Azurite, through queue-triggered functions of the
 * test/fixtures/queue-app fixture (tableWriter, tableReader).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { TableClient } from '@azure/data-tables';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { startHost, type HostHandle } from '../../../host/startHost';
import { createQueuePlugin } from '../../../host/triggers/queue';
import { RecordingLogger } from '../../../shared/logger';
import { uniqueName, useAzurite } from '../../helpers/azurite';
import { waitFor } from '../../helpers/waitFor';

const azurite = useAzurite();
const APP = path.join(__dirname, '../../fixtures/queue-app');
const QUEUES = [
  'RecordQueue',
  'FlakyQueue',
  'ConcurrentQueue',
  'FanoutQueue',
  'OutQueue',
  'TableWriteQueue',
  'TableReadQueue',
  'SlowQueue',
];

interface AppState {
  calls: Record<string, unknown[]>;
}
const appState = (): AppState =>
  ((globalThis as Record<string, unknown>).__queueApp ??= { calls: {}, active: 0, maxActive: 0 }) as AppState;
const calls = <T>(fn: string): T[] => (appState().calls[fn] ?? []) as T[];
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

let host: HostHandle;
let logger: RecordingLogger;
const settings: Record<string, string> = {};

const table = () =>
  TableClient.fromConnectionString(azurite().connectionString, settings.TableName!, {
    allowInsecureConnection: true,
  });

async function send(queueSetting: string, body: unknown): Promise<void> {
  const queue = QueueServiceClient.fromConnectionString(azurite().connectionString).getQueueClient(
    settings[queueSetting]!,
  );
  await queue.sendMessage(b64(JSON.stringify(body)));
}

async function entity(pk: string, rk: string): Promise<Record<string, unknown> | undefined> {
  try {
    return await table().getEntity(pk, rk, { disableTypeConversion: true });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

beforeAll(async () => {
  for (const q of QUEUES) settings[q] = uniqueName(q.replace(/Queue$/, '').toLowerCase() + '-');
  settings.TableName = uniqueName('tbl');
  logger = new RecordingLogger();
  host = startHost({
    appDir: APP,
    port: 0,
    logger,
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'table-host-')),
    useProcessEnv: false,
    plugins: [createQueuePlugin()],
    settings: { AzureWebJobsStorage: azurite().connectionString, ...settings },
  });
  await host.ready;
});

afterAll(async () => {
  await host?.dispose();
});

beforeEach(() => {
  appState().calls = {};
});

const failures = (fn: string) =>
  logger.records.filter((r) => r.level === 'error' && r.msg === `Executed '${fn}' (Failed)`);

describe('table output', () => {
  it('creates the table and inserts one entity, PartitionKey from the binding', async () => {
    await send('TableWriteQueue', { mode: 'single', id: 'r1', name: 'alpha' });
    const e = await waitFor(() => entity('bound', 'r1'), { what: 'entity bound/r1' });
    expect(e).toMatchObject({
      partitionKey: 'bound',
      rowKey: 'r1',
      name: { value: 'alpha', type: 'String' },
      count: { value: '3', type: 'Int64' },
      ratio: { value: '0.5', type: 'Double' },
      ok: { value: 'true', type: 'Boolean' },
    });
    expect(e).not.toHaveProperty('skipped');
  });

  it('writes an array of entities; keys on an entity win over the binding', async () => {
    await send('TableWriteQueue', { mode: 'array', id: 'arr' });
    await waitFor(async () => (await entity('bound', 'arr-1')) && (await entity('other', 'arr-2')), {
      what: 'both entities',
    });
    expect(await entity('bound', 'arr-2')).toBeUndefined();
  });

  it('fails the invocation when an entity has no RowKey', async () => {
    await send('TableWriteQueue', { mode: 'missing' });
    const [failure] = await waitFor(() => failures('tableWriter').length > 0 && failures('tableWriter'), {
      what: 'failed invocation',
    });
    expect(String(failure!.fields.err)).toMatch(/has no RowKey/);
    expect(String(failure!.fields.err)).toMatch(/rowKey on the output\.table\(\) binding/);
  });

  it('inserts (an existing key is a conflict) unless the entity carries ETag "*"', async () => {
    await send('TableWriteQueue', { mode: 'single', id: 'r2', name: 'first' });
    await waitFor(() => entity('bound', 'r2'), { what: 'entity bound/r2' });
    await send('TableWriteQueue', { mode: 'single', id: 'r2', name: 'second' });
    const conflict = () => failures('tableWriter').find((r) => /writing to table/.test(String(r.fields.err)));
    const failed = await waitFor(conflict, { what: 'conflict' });
    expect(String(failed.fields.err)).toMatch(/EntityAlreadyExists|already exists/i);
    expect((await entity('bound', 'r2'))?.name).toEqual({ value: 'first', type: 'String' });

    await send('TableWriteQueue', { mode: 'upsert', id: 'r2' });
    const nameOf = async () => ((await entity('bound', 'r2'))?.name as { value?: string } | undefined)?.value;
    await waitFor(async () => (await nameOf()) === 'replaced', { what: 'replaced entity' });
    expect(await entity('bound', 'r2')).not.toHaveProperty('count');
  });
});

describe('table input', () => {
  beforeAll(async () => {
    const client = table();
    await client.createTable().catch(() => undefined);
    await client.createEntity({ partitionKey: 'p', rowKey: 'a', name: 'na', n: 1 });
    await client.createEntity({ partitionKey: 'p', rowKey: 'b', name: 'nb', n: BigInt(2) });
    await client.createEntity({ partitionKey: 'p', rowKey: 'c', name: "o'brien", n: 3 });
  });

  type Read = { one?: Record<string, unknown>; some: Record<string, unknown>[]; filtered: unknown[] };

  it('reads one entity by key, a partition with take, and a filter', async () => {
    await send('TableReadQueue', { pk: 'p', rk: 'b', name: 'nb' });
    const [read] = await waitFor(() => calls<Read>('tableReader').length > 0 && calls<Read>('tableReader'));
    expect(read!.one).toMatchObject({ PartitionKey: 'p', RowKey: 'b', name: 'nb', n: 2 });
    expect(Object.keys(read!.one!).sort()).toEqual([
      'PartitionKey',
      'RowKey',
      'Timestamp',
      'n',
      'name',
      'odata.etag',
    ]);
    expect(typeof read!.one!.Timestamp).toBe('string');
    expect(typeof read!.one!['odata.etag']).toBe('string');
    expect(read!.some).toHaveLength(2);
    expect(read!.some.map((e) => e.RowKey)).toEqual(['a', 'b']);
    expect(read!.filtered).toEqual([expect.objectContaining({ RowKey: 'b', name: 'nb' })]);
  });

  it('gives undefined for a missing entity and escapes quotes in filter values', async () => {
    await send('TableReadQueue', { pk: 'p', rk: 'missing', name: "o'brien" });
    const [read] = await waitFor(() => calls<Read>('tableReader').length > 0 && calls<Read>('tableReader'));
    expect(read!.one).toBeUndefined();
    expect(read!.filtered).toEqual([expect.objectContaining({ RowKey: 'c', name: "o'brien" })]);
  });
});
