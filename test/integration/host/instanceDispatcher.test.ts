/**
 * The durable dispatcher deletes an episode's consumed messages only once the instance row is
 * written: a host that dies before the row lands leaves the messages in the queue, and their
 * redelivery makes the next host load the instance and repair the row from history.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueClient } from '@azure/storage-queue';
import { describe, expect, it } from 'vitest';

import type { ProcessResult } from '../../../host/durable/engineContext';
import { EventType, newEvent } from '../../../host/durable/history';
import { InstanceDispatcher, type InstanceProcessor } from '../../../host/durable/instanceDispatcher';
import { LargePayloads } from '../../../host/durable/largePayloads';
import type { ControlMessage } from '../../../host/durable/messages';
import { type Delivered, QueueTransport } from '../../../host/durable/queueTransport';
import { SystemClock } from '../../../shared/clock';
import { RecordingLogger } from '../../../shared/logger';
import { uniqueName, useAzurite } from '../../helpers/azurite';
import { waitFor } from '../../helpers/waitFor';

type Msg = Delivered<ControlMessage>;

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('durable dispatcher: deleting consumed messages', () => {
  const azurite = useAzurite();

  it('waits for the instance row, and keeps the messages when it could not be written', async () => {
    const connection = azurite().connectionString;
    const queue = new QueueClient(connection, uniqueName('control'));
    await queue.create();
    const payloads = new LargePayloads(
      BlobServiceClient.fromConnectionString(connection).getContainerClient(uniqueName('large')),
    );
    const clock = new SystemClock();
    const transport = new QueueTransport(payloads, clock);
    const control = (instanceId: string): ControlMessage => ({
      id: uniqueName('m'),
      instanceId,
      event: newEvent(EventType.EventRaised, Date.now(), { Name: 'go', Input: '1' }),
    });
    for (const id of ['pending-row', 'failed-row', 'no-row']) await transport.send(queue, control(id), id);

    const rows = { 'pending-row': deferred<boolean>(), 'failed-row': deferred<boolean>() };
    const processor: InstanceProcessor = {
      process: (instanceId, inbox) => {
        const result: ProcessResult<Msg> = { consumed: inbox, dropped: [], held: [] };
        if (instanceId in rows) result.rowWritten = rows[instanceId as keyof typeof rows].promise;
        return Promise.resolve(result);
      },
    };
    const visibilityMs = 2000;
    const dispatcher = new InstanceDispatcher(
      processor,
      processor,
      transport,
      clock,
      new RecordingLogger(),
      4,
      visibilityMs,
    );
    const count = async (): Promise<number> => (await queue.getProperties()).approximateMessagesCount ?? -1;
    try {
      const received = await transport.receive<ControlMessage>(queue, 32, visibilityMs);
      expect(received).toHaveLength(3);
      for (const m of received) dispatcher.accept(m);

      // The message whose episode wrote no row is deleted at once; the others wait.
      await waitFor(async () => (await count()) === 2, { what: 'one message deleted' });
      rows['pending-row'].resolve(true);
      await waitFor(async () => (await count()) === 1, { what: 'the written one deleted' });
      rows['failed-row'].resolve(false);

      // The one whose row write failed comes back once its lease runs out.
      const again = await waitFor(
        async () => {
          const got = await transport.receive<ControlMessage>(queue, 32, visibilityMs);
          return got.length > 0 ? got : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 250, what: 'the kept message to be redelivered' },
      );
      expect(again.map((m) => m.body.instanceId)).toEqual(['failed-row']);
    } finally {
      await dispatcher.stop();
      await queue.delete();
    }
  }, 30_000);
});
