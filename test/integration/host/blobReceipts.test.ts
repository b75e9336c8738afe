/**
 * Blob receipts are deleted once their blob version is gone (tidemark's addition to the real host's
 * BlobReceiptManager). The executor, the receipts and the scanner run here against a real Azurite,
 * one step at a time, so each race is driven deterministically: messages are received from the host
 * queue by hand and the function is a stub that deletes, overwrites or keeps its blob.
 */
import type { BlobClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';

import type { RegisteredFunction } from '../../../host/core/coreApi';
import type { HostServices } from '../../../host/plugin';
import { Settings } from '../../../host/settings';
import { type StorageAccount, StorageAccounts } from '../../../host/storage';
import type { BlobTriggerConfig } from '../../../host/triggers/blob/config';
import { BlobExecutor, type Decision } from '../../../host/triggers/blob/executor';
import { HostQueue, type ReceivedMessage } from '../../../host/triggers/blob/hostQueue';
import {
  type BlobTriggerMessage,
  encodeMessage,
  functionIdFor,
  HOSTS_CONTAINER,
  normalizeETag,
} from '../../../host/triggers/blob/messages';
import { compileBlobPath } from '../../../host/triggers/blob/path';
import { Receipts } from '../../../host/triggers/blob/receipts';
import type { BlobFunction } from '../../../host/triggers/blob/registry';
import { ContainerScanner } from '../../../host/triggers/blob/scanner';
import { SystemClock } from '../../../shared/clock';
import { RecordingLogger } from '../../../shared/logger';
import { uniqueName, useAzurite } from '../../helpers/azurite';

const CONFIG: BlobTriggerConfig = {
  maxDegreeOfParallelism: 4,
  poisonBlobThreshold: 5,
  pollIntervalMs: 250,
  retryDelaySeconds: 0,
};

type Action = (blob: BlobClient) => Promise<unknown>;
const keep: Action = async () => undefined;
const deleteIt: Action = (blob) => blob.delete();
const overwrite: Action = (blob) => blob.getBlockBlobClient().upload('new', 3);

const azurite = useAzurite();

/** One host instance: its receipts, host queue, executor and a stub function on its own container. */
async function rig(
  options: { hostId?: string; container?: string; receipts?: typeof Receipts; logger?: RecordingLogger } = {},
) {
  const account: StorageAccount = new StorageAccounts(
    new Settings({ AzureWebJobsStorage: azurite().connectionString }),
  ).get(undefined);
  const hostId = options.hostId ?? uniqueName('h');
  const container = options.container ?? uniqueName('c');
  const clock = new SystemClock();
  const logger = options.logger ?? new RecordingLogger();
  const queue = new HostQueue(account, hostId);
  const receipts = new (options.receipts ?? Receipts)(account, hostId, queue, clock, () => {});
  const storageNow = await queue.ensure();
  await receipts.ensure();
  await account.blob.getContainerClient(container).createIfNotExists();
  const fn: BlobFunction = {
    fn: { metadata: { name: 'apply' } } as unknown as RegisteredFunction,
    name: 'apply',
    functionId: functionIdFor('apply'),
    path: compileBlobPath(`${container}/{name}`, new Settings({})),
    account,
    source: 'LogsAndContainerScan',
  };
  const invoked: string[] = [];
  let action: Action = keep;
  const services = {
    invoker: {
      invoke: async (_fn: unknown, request: { bindingData: { name: string } }) => {
        invoked.push(request.bindingData.name);
        await action(blobClient(request.bindingData.name));
        return { ok: true, invocationId: 'i', durationMs: 0 };
      },
    },
  } as unknown as HostServices;
  const executor = new BlobExecutor([fn], receipts, services, CONFIG, logger);
  executor.started(storageNow);
  const hosts = account.blob.getContainerClient(HOSTS_CONTAINER);

  function blobClient(name: string): BlobClient {
    return account.blob.getContainerClient(container).getBlobClient(name);
  }
  function message(name: string, eTag: string): BlobTriggerMessage {
    return {
      Type: 'BlobTrigger',
      FunctionId: fn.functionId,
      BlobType: 'BlockBlob',
      ContainerName: container,
      BlobName: name,
      ETag: normalizeETag(eTag),
    };
  }
  /** The receipts of this function, by blob name: the ETag and metadata (lower-case keys). */
  async function receiptsLeft(): Promise<Map<string, { eTag: string; metadata: Record<string, string> }>> {
    const prefix = receipts.prefix(fn.functionId);
    const found = new Map<string, { eTag: string; metadata: Record<string, string> }>();
    for await (const item of hosts.listBlobsFlat({ prefix, includeMetadata: true })) {
      const [eTag, , ...name] = item.name.slice(prefix.length).split('/');
      const metadata = Object.fromEntries(
        Object.entries(item.metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
      );
      found.set(name.join('/'), { eTag: eTag!, metadata });
    }
    return found;
  }

  return {
    account,
    fn,
    hostId,
    container,
    queue,
    receipts,
    executor,
    logger,
    invoked,
    hosts,
    message,
    receiptsLeft,
    blobClient,
    /** What the next invocations do to their blob. */
    onInvoke(next: Action) {
      action = next;
    },
    async upload(name: string, content = name): Promise<string> {
      const res = await blobClient(name).getBlockBlobClient().upload(content, content.length);
      return normalizeETag(res.etag);
    },
    receipt(name: string, eTag: string) {
      return hosts.getBlockBlobClient(receipts.name(message(name, eTag)));
    },
    /** Receives every waiting message, runs it as the dispatcher does, and settles its receipt work. */
    async runQueued(options: { dequeueCount?: number } = {}): Promise<Decision[]> {
      const decisions: Decision[] = [];
      for (;;) {
        const got = await queue.receive(32, 30);
        if (got.length === 0) return decisions;
        for (const m of got) {
          const received = options.dequeueCount ? { ...m, dequeueCount: options.dequeueCount } : m;
          const decision = await executor.execute(received);
          if (decision.action === 'delete') await Promise.all([queue.delete(m), decision.alongside]);
          decisions.push(decision);
        }
      }
    },
    /** A message as received, without going through the queue (a redelivery, a twin). */
    async execute(m: BlobTriggerMessage, dequeueCount = 1): Promise<Decision> {
      const received: ReceivedMessage = {
        id: uniqueName('m'),
        popReceipt: 'p',
        dequeueCount,
        insertedOn: new Date(),
        text: encodeMessage(m),
      };
      const decision = await executor.execute(received);
      if (decision.action === 'delete') await decision.alongside;
      return decision;
    },
  };
}

describe('blob receipts of versions that are gone', () => {
  it('a function that deletes its blob leaves no receipt; one that keeps it leaves a processed one', async () => {
    const r = await rig();
    const consumed = await r.upload('consumed');
    expect(await r.receipts.register(r.message('consumed', consumed))).toBe('queued');
    r.onInvoke(deleteIt);
    await r.runQueued();
    expect(r.invoked).toEqual(['consumed']);
    expect(await r.receiptsLeft()).toEqual(new Map());

    const kept = await r.upload('kept');
    await r.receipts.register(r.message('kept', kept));
    r.onInvoke(keep);
    await r.runQueued();
    expect(r.invoked).toEqual(['consumed', 'kept']);
    const left = await r.receiptsLeft();
    expect([...left.keys()]).toEqual(['kept']);
    expect(left.get('kept')!.eTag).toBe(kept);
    expect(Object.keys(left.get('kept')!.metadata)).toEqual(['processed']);
  });

  it('a function that overwrites its blob loses the receipt of the old version only', async () => {
    const r = await rig();
    const v1 = await r.upload('b');
    await r.receipts.register(r.message('b', v1));
    r.onInvoke(overwrite);
    await r.runQueued();
    expect(await r.receiptsLeft()).toEqual(new Map());
    // The new version registers and fires on its own.
    const v2 = normalizeETag((await r.blobClient('b').getProperties()).etag);
    expect(await r.receipts.register(r.message('b', v2))).toBe('queued');
    r.onInvoke(keep);
    await r.runQueued();
    expect(r.invoked).toEqual(['b', 'b']);
    expect((await r.receiptsLeft()).get('b')?.eTag).toBe(v2);
  });

  it('a message whose blob was deleted or overwritten before it ran deletes the receipt and runs nothing', async () => {
    const r = await rig();
    const gone = await r.upload('gone');
    const v1 = await r.upload('changed');
    await r.receipts.register(r.message('gone', gone));
    await r.receipts.register(r.message('changed', v1));
    await r.blobClient('gone').delete();
    const v2 = await r.upload('changed', 'v2');
    expect((await r.receiptsLeft()).size).toBe(2);
    const decisions = await r.runQueued();
    expect(decisions.map((d) => d.action)).toEqual(['delete', 'delete']);
    expect(r.invoked).toEqual([]);
    expect(await r.receiptsLeft()).toEqual(new Map());
    expect(v2).not.toBe(v1);
  });

  it('race: a registration from a listing taken before the delete queues a message that runs nothing', async () => {
    const r = await rig();
    const etag = await r.upload('d');
    await r.receipts.register(r.message('d', etag));
    r.onInvoke(deleteIt);
    await r.runQueued();
    expect(await r.receiptsLeft()).toEqual(new Map());

    // The stale registration re-creates the receipt (If-None-Match succeeds) and queues a message.
    // Queued well after the start through a fresh receipt, it is not taken for a twin: the executor
    // does not look at the receipt, only the download keeps the function from running.
    r.executor.started(new Date(Date.now() - 60_000));
    expect(await r.receipts.register(r.message('d', etag))).toBe('queued');
    expect((await r.receiptsLeft()).get('d')?.metadata).toEqual({});
    await r.runQueued();
    expect(r.invoked).toEqual(['d']);
    expect(await r.receiptsLeft()).toEqual(new Map());

    // The same through a takeover: an incomplete receipt (a crashed registration) re-queued.
    await r.receipt('d', etag).upload('', 0, { metadata: { Incomplete: 'Incomplete' } });
    expect(await r.receipts.register(r.message('d', etag))).toBe('queued');
    await r.runQueued();
    expect(r.invoked).toEqual(['d']);
    expect(await r.receiptsLeft()).toEqual(new Map());
  });

  it('race: the message deletes the receipt before its registration completes it; it stays deleted', async () => {
    const r = await rig();
    const etag = await r.upload('fast');
    await r.blobClient('fast').delete();
    // The message runs to its end between the queuing and the completion of the receipt.
    const send = r.queue.send.bind(r.queue);
    r.queue.send = async (m) => {
      await send(m);
      await r.runQueued();
    };
    expect(await r.receipts.register(r.message('fast', etag))).toBe('queued');
    expect(r.invoked).toEqual([]);
    expect(await r.receiptsLeft()).toEqual(new Map());
  });

  it('race: a receipt deleted between a registration finding it and reading it is registered afresh', async () => {
    let vanish: (() => Promise<unknown>) | undefined;
    // The receipt disappears (its message found the version gone) right before the takeover reads it.
    class Vanishing extends Receipts {
      constructor(...args: ConstructorParameters<typeof Receipts>) {
        const [account, ...rest] = args;
        const hosts = account.blob.getContainerClient(HOSTS_CONTAINER);
        const getBlockBlobClient = hosts.getBlockBlobClient.bind(hosts);
        hosts.getBlockBlobClient = (name: string) => {
          const client = getBlockBlobClient(name);
          const getProperties = client.getProperties.bind(client);
          client.getProperties = async (options) => {
            const before = vanish;
            vanish = undefined;
            await before?.();
            return getProperties(options);
          };
          return client;
        };
        super({ ...account, blob: { getContainerClient: () => hosts } as never }, ...rest);
      }
    }
    const r = await rig({ receipts: Vanishing });
    const etag = await r.upload('v');
    await r.receipts.register(r.message('v', etag));
    await r.blobClient('v').delete();
    vanish = () => r.receipt('v', etag).delete();
    expect(await r.receipts.register(r.message('v', etag))).toBe('queued');
    expect(vanish).toBeUndefined();
    const decisions = await r.runQueued();
    expect(decisions).toHaveLength(2); // the first registration's message and the fresh one
    expect(r.invoked).toEqual([]);
    expect(await r.receiptsLeft()).toEqual(new Map());
    expect(r.logger.records.filter((x) => x.level === 'warn')).toEqual([]);
  });

  it('crash after the invocation: a redelivered message runs nothing, for a blob gone or kept', async () => {
    const r = await rig();
    // Gone: the function deleted the blob, the host died before the message and receipt were
    // deleted. The redelivery finds the blob gone and deletes the complete, unprocessed receipt.
    const gone = await r.upload('gone');
    await r.receipts.register(r.message('gone', gone));
    await r.blobClient('gone').delete();
    await r.runQueued({ dequeueCount: 2 });
    expect(r.invoked).toEqual([]);
    expect(await r.receiptsLeft()).toEqual(new Map());

    // Kept: the receipt was marked, the message not deleted. The redelivery is dropped.
    const kept = await r.upload('kept');
    await r.receipts.register(r.message('kept', kept));
    await r.runQueued();
    expect(r.invoked).toEqual(['kept']);
    await r.execute(r.message('kept', kept), 2);
    expect(r.invoked).toEqual(['kept']);
    expect((await r.receiptsLeft()).get('kept')?.metadata.processed).toBeDefined();

    // A twin of a processed version whose blob went since: dropped, and the receipt deleted.
    await r.blobClient('kept').delete();
    await r.execute(r.message('kept', kept), 2);
    expect(r.invoked).toEqual(['kept']);
    expect(await r.receiptsLeft()).toEqual(new Map());
  });

  it('a kept blob never fires again from a new instance, processed or only complete', async () => {
    const hostId = uniqueName('h');
    const container = uniqueName('c');
    const r = await rig({ hostId, container });
    const processed = await r.upload('processed');
    const complete = await r.upload('complete');
    await r.receipts.register(r.message('processed', processed));
    await r.receipts.register(r.message('complete', complete));
    // 'complete' ran, but the host died before marking it: its message is gone, its receipt complete.
    for (const m of await r.queue.receive(32, 30)) {
      if (m.text === encodeMessage(r.message('complete', complete))) await r.queue.delete(m);
      else await r.queue.setVisibility(m, 0);
    }
    await r.runQueued();
    expect(r.invoked).toEqual(['processed']);

    // A restart: a new instance's first scan is a full one and reads the complete receipts.
    const next = await rig({ hostId, container });
    const scanner = new ContainerScanner(
      { account: next.account, container, functions: [next.fn] },
      next.receipts,
      CONFIG,
      new SystemClock(),
      next.logger,
    );
    await scanner.scanOnce();
    await scanner.settled();
    await scanner.scanOnce();
    await scanner.settled();
    expect(await next.runQueued()).toEqual([]);
    expect(next.invoked).toEqual([]);
    const left = await next.receiptsLeft();
    expect([...left.keys()].sort()).toEqual(['complete', 'processed']);
    expect(left.get('processed')?.metadata.processed).toBeDefined();
  });

  it('a message without a receipt creates a processed one, and deletes it if the blob went meanwhile', async () => {
    const race: { before?: () => Promise<unknown> } = {};
    class Racing extends Receipts {
      override async markProcessed(m: BlobTriggerMessage) {
        const result = await super.markProcessed(m);
        await race.before?.();
        return result;
      }
    }
    const r = await rig({ receipts: Racing });
    // Queued by hand, no receipt: the mark creates one so no scan fires the version again.
    const kept = await r.upload('kept');
    await r.execute(r.message('kept', kept));
    expect(r.invoked).toEqual(['kept']);
    expect((await r.receiptsLeft()).get('kept')?.metadata.processed).toBeDefined();

    // The same, but the blob is deleted between the existence check and the mark: the receipt the
    // mark created is checked again and deleted.
    const racing = await r.upload('racing');
    race.before = () => r.blobClient('racing').delete();
    await r.execute(r.message('racing', racing));
    expect(r.invoked).toEqual(['kept', 'racing']);
    expect([...(await r.receiptsLeft()).keys()]).toEqual(['kept']);
  });

  it('waits for a takeover lease before deleting; a failed deletion is logged and the message deleted', async () => {
    const r = await rig();
    const etag = await r.upload('leased');
    await r.receipts.register(r.message('leased', etag));
    await r.runQueued();
    await r.blobClient('leased').delete();
    const lease = r.receipt('leased', etag).getBlobLeaseClient();
    await lease.acquireLease(30);
    const released = new Promise((done) => setTimeout(done, 300)).then(() => lease.releaseLease());
    await r.execute(r.message('leased', etag), 2);
    await released;
    expect(await r.receiptsLeft()).toEqual(new Map());

    class Failing extends Receipts {
      override async delete(): Promise<void> {
        throw new Error('storage down');
      }
    }
    const f = await rig({ receipts: Failing });
    const missing = f.message('missing', '"0x8D000000000000"');
    const decision = await f.execute(missing);
    expect(decision.action).toBe('delete');
    f.onInvoke(deleteIt);
    const consumed = await f.upload('consumed');
    expect((await f.execute(f.message('consumed', consumed))).action).toBe('delete');
    expect(f.invoked).toEqual(['consumed']);
    const warnings = f.logger.records.filter((x) => x.level === 'warn').map((x) => [x.msg, x.fields?.err]);
    expect(warnings).toEqual([
      ['Could not delete the blob receipt of a version that is gone', 'storage down'],
      ['Could not delete the blob receipt of a version that is gone', 'storage down'],
    ]);
  });
});
