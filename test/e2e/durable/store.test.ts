import { QueueServiceClient } from '@azure/storage-queue';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EventType, newEvent } from '../../../host/durable/history';
import { HistoryStore } from '../../../host/durable/historyStore';
import { partitionOf } from '../../../host/durable/hubNames';
import { LargePayloads } from '../../../host/durable/largePayloads';
import { BlobServiceClient } from '@azure/storage-blob';
import { uniqueName, useAzurite } from '../../helpers/azurite';
import {
  clientOp,
  type DurableHost,
  getStatus,
  rpc,
  startDurableHost,
  startViaHttp,
  waitForStatus,
} from './helpers';

describe('durable: the task hub in Azure Storage', () => {
  const azurite = useAzurite();
  let d: DurableHost;
  beforeAll(async () => {
    d = await startDurableHost(azurite());
  });
  afterAll(async () => {
    await d?.host.dispose();
  });

  const table = (name: string): TableClient =>
    TableClient.fromConnectionString(azurite().connectionString, name, { allowInsecureConnection: true });

  it('lays out the hub like the Azure Storage provider', async () => {
    const started = await startViaHttp(d.host, 'chain', undefined, 'layout-1');
    await waitForStatus(d.host, started.id);
    const row = await table(`${d.hub}Instances`).getEntity<Record<string, unknown>>('layout-1', '');
    expect(row).toMatchObject({ Name: 'chain', RuntimeStatus: 'Completed', TaskHubName: d.hub });
    const history: Record<string, unknown>[] = [];
    for await (const r of table(`${d.hub}History`).listEntities<Record<string, unknown>>({
      queryOptions: { filter: "PartitionKey eq 'layout-1'" },
    })) {
      history.push(r);
    }
    const keys = history.map((r) => r.rowKey);
    expect(keys).toContain('sentinel');
    expect(keys).toContain('0000000000000000');
    expect(history.find((r) => r.rowKey === '0000000000000000')?.EventType).toBe('OrchestratorStarted');
    expect(history.some((r) => r.EventType === 'TaskScheduled' && r.Name === 'hello')).toBe(true);
    const service = QueueServiceClient.fromConnectionString(azurite().connectionString);
    const queues = [0, 1, 2, 3].map((i) => `${d.hub.toLowerCase()}-control-0${i}`);
    for (const q of [...queues, `${d.hub.toLowerCase()}-workitems`]) {
      expect(await service.getQueueClient(q).exists()).toBe(true);
    }
  });

  it('moves payloads over the queue and table limits to {hub}-largemessages', async () => {
    const big = 'x'.repeat(200_000);
    const started = await startViaHttp(d.host, 'bigEcho', big, uniqueName('big'));
    const status = await waitForStatus(d.host, started.id);
    expect(status.output).toEqual({ length: 200_000, same: true });
    expect((await getStatus(d.host, started.id))?.input).toBe(big);
    const container = BlobServiceClient.fromConnectionString(azurite().connectionString).getContainerClient(
      `${d.hub.toLowerCase()}-largemessages`,
    );
    const blobs: string[] = [];
    for await (const b of container.listBlobsFlat({ prefix: `${started.id}/` })) blobs.push(b.name);
    expect(blobs.length).toBeGreaterThan(0);
    // Purging removes them with the instance.
    await clientOp(d.host, 'purge', { instanceId: started.id });
    const left: string[] = [];
    for await (const b of container.listBlobsFlat({ prefix: `${started.id}/` })) left.push(b.name);
    expect(left).toEqual([]);
  });

  it('drops duplicate deliveries: a repeated TaskCompleted and a re-sent event', async () => {
    const id = uniqueName('dup');
    await startViaHttp(d.host, 'twoStep', undefined, id);
    await waitForStatus(d.host, id, ['Running']);
    await new Promise((r) => setTimeout(r, 200));
    const rows: Record<string, unknown>[] = [];
    for await (const r of table(`${d.hub}History`).listEntities<Record<string, unknown>>({
      queryOptions: { filter: `PartitionKey eq '${id}'` },
    })) {
      rows.push(r);
    }
    const scheduled = rows.find((r) => r.EventType === 'TaskScheduled') as Record<string, unknown>;
    const token = (JSON.parse(String(scheduled.Meta)) as { token: string }).token;
    const executionId = String(scheduled.ExecutionId);
    const queue = QueueServiceClient.fromConnectionString(azurite().connectionString).getQueueClient(
      `${d.hub.toLowerCase()}-control-0${partitionOf(id, 4)}`,
    );
    const send = (body: unknown) => queue.sendMessage(JSON.stringify({ body }));
    // A second result for task 0 (already completed with "first").
    await send({
      id: 'dup-completion',
      instanceId: id,
      executionId,
      token,
      event: newEvent(EventType.TaskCompleted, Date.now(), { TaskScheduledId: 0, Result: '"second"' }),
    });
    const raised = newEvent(EventType.EventRaised, Date.now(), { Name: 'go', Input: '"real"' });
    await send({ id: 'event-1', instanceId: id, event: raised });
    await send({ id: 'event-1', instanceId: id, event: { ...raised, Input: '"copy"' } });
    const status = await waitForStatus(d.host, id);
    expect(status.output).toEqual({ first: 'first', go: 'real' });
    const history = (await getStatus(d.host, id, '?showHistory=true'))?.historyEvents ?? [];
    expect(history.filter((e) => e.EventType === 'TaskCompleted')).toHaveLength(1);
    expect(history.filter((e) => e.EventType === 'EventRaised')).toHaveLength(1);
  });

  it('commits an episode conditionally: of two writers with the same ETag only one wins', async () => {
    const client = table(`${d.hub}History`);
    const store = new HistoryStore(
      client,
      new LargePayloads(
        BlobServiceClient.fromConnectionString(azurite().connectionString).getContainerClient(
          `${d.hub.toLowerCase()}-largemessages`,
        ),
      ),
    );
    const event = (n: number) => ({ event: newEvent(EventType.GenericEvent, n), meta: {} });
    const base = { executionId: 'e', startSequence: 0, processedActions: 0, recentMessageIds: [] };
    const etag = await store.commit('race', { ...base, events: [event(1)] }, Date.now());
    const next = { ...base, etag, startSequence: 1 };
    const results = await Promise.allSettled([
      store.commit('race', { ...next, events: [event(2)] }, Date.now()),
      store.commit('race', { ...next, events: [event(3), event(4)] }, Date.now()),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const loaded = await store.load('race');
    expect([2, 3]).toContain(loaded.events.length);
    // A creator racing an existing sentinel loses too; so does a big (claimed) commit on a stale ETag.
    await expect(store.commit('race', { ...base, events: [event(5)] }, Date.now())).rejects.toMatchObject({
      statusCode: 409,
    });
    const many = Array.from({ length: 150 }, (_, i) => event(i));
    await expect(store.commit('race', { ...next, events: many }, Date.now())).rejects.toMatchObject({
      statusCode: 412,
    });
    const fresh = await store.load('race');
    const after = await store.commit(
      'race',
      { ...base, etag: fresh.etag, startSequence: fresh.events.length, events: many },
      Date.now(),
    );
    expect(after).toBeTruthy();
    expect((await store.load('race')).events).toHaveLength(fresh.events.length + 150);
  });

  it('repairs an instance row that lags the history after a crash, custom status included', async () => {
    const started = await startViaHttp(d.host, 'customStatus');
    await waitForStatus(d.host, started.id, ['Running']);
    await rpc(d.host, `instances/${started.id}/raiseEvent/go`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ done: true }),
    });
    const done = await waitForStatus(d.host, started.id);
    expect(done.customStatus).toEqual({ stage: 'done' });
    // As if the host died between the history commit and the row write: the row still says what
    // the previous episode left.
    await table(`${d.hub}Instances`).updateEntity(
      {
        partitionKey: started.id,
        rowKey: '',
        RuntimeStatus: 'Running',
        Output: '',
        HasOutput: false,
        CustomStatus: JSON.stringify({ stage: 'waiting', n: 1 }),
      },
      'Merge',
    );
    expect((await getStatus(d.host, started.id))?.runtimeStatus).toBe('Running');
    // A redelivered message makes the host load the instance again.
    await rpc(d.host, `instances/${started.id}/raiseEvent/late`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '1',
    });
    const repaired = await waitForStatus(d.host, started.id);
    expect(repaired).toMatchObject({
      runtimeStatus: 'Completed',
      output: { done: true },
      customStatus: { stage: 'done' },
    });
  });
});
