/**
 * The blob trigger and blob bindings of the local host, run against a real Azurite with the fixture
 * app test/fixtures/blob-app (plain CommonJS, @azure/functions v4).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterEach, describe, expect, it } from 'vitest';

import { type AzuriteInstance, startAzurite } from '../../../host/azurite';
import { createBlobBindingProvider } from '../../../host/bindings/blobBindings';
import type { HostServices } from '../../../host/plugin';
import { type HostHandle, startHost } from '../../../host/startHost';
import { HostQueue } from '../../../host/triggers/blob/hostQueue';
import type { BlobTriggerMessage } from '../../../host/triggers/blob/messages';
import { Receipts } from '../../../host/triggers/blob/receipts';
import { SystemClock } from '../../../shared/clock';
import { RecordingLogger } from '../../../shared/logger';
import { uniqueName, useAzurite } from '../../helpers/azurite';
import { waitFor } from '../../helpers/waitFor';

interface Call {
  fn: string;
  at: number;
  blobTrigger: string;
  content: string;
  isBuffer: boolean;
  triggerMetadata: Record<string, unknown>;
  params?: Record<string, unknown>;
  side?: string;
  sideIsBuffer?: boolean;
  missing?: unknown;
}

const APP = path.join(__dirname, '../../fixtures/blob-app');
const DEV_APP = path.join(__dirname, '../../fixtures/blob-app-devstore');
const azurite = useAzurite();
const hosts: HostHandle[] = [];

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.dispose()));
});

function appState(): { calls: Call[]; active: number; maxActive: number } {
  return ((globalThis as Record<string, unknown>).__blobApp ??= { calls: [], active: 0, maxActive: 0 }) as {
    calls: Call[];
    active: number;
    maxActive: number;
  };
}

function calls(fn: string, container: string): Call[] {
  return appState().calls.filter((c) => c.fn === fn && c.blobTrigger.startsWith(`${container}/`));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function appSettings(extra: Record<string, string> = {}): Record<string, string> {
  return {
    AzureWebJobsStorage: azurite().connectionString,
    NamedConn: azurite().connectionString,
    AzureFunctionsWebHost__hostid: uniqueName('h'),
    TIDEMARK_BLOB_RETRY_DELAY_SECONDS: '0',
    BASIC_CONTAINER: uniqueName('basic'),
    PATTERN_CONTAINER: uniqueName('pattern'),
    NAMED_CONTAINER: uniqueName('named'),
    FAIL_CONTAINER: uniqueName('fail'),
    SLOW_CONTAINER: uniqueName('slow'),
    EG_CONTAINER: uniqueName('eg'),
    COPY_CONTAINER: uniqueName('copy'),
    COPY_OUT_CONTAINER: uniqueName('copyout'),
    CONSUME_CONTAINER: uniqueName('consume'),
    ...extra,
  };
}

async function start(settings: Record<string, string>, appDir = APP) {
  const logger = new RecordingLogger();
  const host = startHost({
    appDir,
    port: 0,
    logger,
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'blob-host-')),
    useProcessEnv: false,
    settings,
  });
  hosts.push(host);
  await host.ready;
  return { host, logger };
}

function blobs(): BlobServiceClient {
  return BlobServiceClient.fromConnectionString(azurite().connectionString);
}

async function upload(container: string, name: string, content: string, metadata?: Record<string, string>) {
  const client = blobs().getContainerClient(container);
  await client.createIfNotExists();
  const res = await client.getBlockBlobClient(name).upload(content, Buffer.byteLength(content), {
    metadata,
    blobHTTPHeaders: { blobContentType: 'text/plain' },
  });
  return { etag: res.etag as string, doneAt: Date.now() };
}

async function download(container: string, name: string): Promise<Buffer> {
  return blobs().getContainerClient(container).getBlobClient(name).downloadToBuffer();
}

/** The receipts of one function, by blob name within the container: `{ eTag, metadata }`. */
async function receiptsOf(settings: Record<string, string>, fn: string, container: string) {
  const prefix = `blobreceipts/${settings.AzureFunctionsWebHost__hostid}/Host.Functions.${fn}/`;
  const found = new Map<string, { eTag: string; metadata: Record<string, string> }>();
  const hosts = blobs().getContainerClient('azure-webjobs-hosts');
  for await (const item of hosts.listBlobsFlat({ prefix, includeMetadata: true })) {
    const [eTag, ...rest] = item.name.slice(prefix.length).split('/');
    if (rest[0] !== container) continue;
    const metadata = Object.fromEntries(
      Object.entries(item.metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
    );
    found.set(rest.slice(1).join('/'), { eTag: eTag!, metadata });
  }
  return found;
}

function triggerMessage(fn: string, container: string, name: string, eTag: string): BlobTriggerMessage {
  return {
    Type: 'BlobTrigger',
    FunctionId: `Host.Functions.${fn}`,
    BlobType: 'BlockBlob',
    ContainerName: container,
    BlobName: name,
    ETag: eTag,
  };
}

describe('blob trigger', () => {
  it('fires once per blob version, with the real triggerMetadata and sub-second detection', async () => {
    const settings = appSettings();
    const c = settings.BASIC_CONTAINER as string;
    await start(settings);

    const first = await upload(c, 'dir/a.txt', 'hello', { origin: 'test' });
    const [call] = await waitFor(() => calls('basic', c).length === 1 && calls('basic', c), {
      what: 'the first invocation',
    });
    expect(call!.at - first.doneAt).toBeLessThan(2_000);
    expect(call!.isBuffer).toBe(true);
    expect(call!.content).toBe('hello');
    const md = call!.triggerMetadata;
    expect(md.blobTrigger).toBe(`${c}/dir/a.txt`);
    expect(md.name).toBe('dir/a.txt');
    expect(String(md.uri)).toMatch(new RegExp(`/${c}/dir/a\\.txt$`));
    expect(md.metadata).toEqual({ origin: 'test' });
    const props = md.properties as Record<string, unknown>;
    expect(props).toMatchObject({
      length: 5,
      contentLength: 5,
      contentType: 'text/plain',
      eTag: first.etag,
      blobType: 'BlockBlob',
      metadata: { origin: 'test' },
    });
    expect(new Date(String(props.lastModified)).getTime()).toBeGreaterThan(0);

    await sleep(1_000); // four more scans
    expect(calls('basic', c)).toHaveLength(1);

    const second = await upload(c, 'dir/a.txt', 'hello again');
    await waitFor(() => calls('basic', c).length === 2, { what: 'the overwrite to fire' });
    expect(calls('basic', c)[1]!.content).toBe('hello again');
    expect((calls('basic', c)[1]!.triggerMetadata.properties as { eTag: string }).eTag).toBe(second.etag);

    // A metadata-only change gives a new ETag: the real host fires again, and so do we.
    const changed = await blobs()
      .getContainerClient(c)
      .getBlobClient('dir/a.txt')
      .setMetadata({ step: 'three' });
    await waitFor(() => calls('basic', c).length === 3, { what: 'the metadata change to fire' });
    const third = calls('basic', c)[2]!;
    expect(third.triggerMetadata.metadata).toEqual({ step: 'three' });
    expect((third.triggerMetadata.properties as { eTag: string }).eTag).toBe(changed.etag);

    await sleep(600);
    expect(calls('basic', c)).toHaveLength(3);
  });

  it('does not re-fire processed blobs after a restart, but fires blobs uploaded while down', async () => {
    const settings = appSettings();
    const c = settings.BASIC_CONTAINER as string;
    const first = await start(settings);
    const one = await upload(c, 'one', 'v1');
    await waitFor(() => calls('basic', c).length === 1, { what: 'the first blob' });
    // The function keeps its blob, so the receipt stays, marked processed.
    const kept = await waitFor(
      async () => {
        const r = (await receiptsOf(settings, 'basic', c)).get('one');
        return r?.metadata.processed !== undefined && r;
      },
      { what: 'the processed receipt' },
    );
    expect(kept.eTag).toBe(one.etag);
    await first.host.dispose();

    await upload(c, 'two', 'v1');
    await start(settings);
    await waitFor(() => calls('basic', c).length === 2, { what: 'the blob uploaded while down' });
    await sleep(800);
    expect(calls('basic', c).map((x) => x.triggerMetadata.name)).toEqual(['one', 'two']);
    const after = await receiptsOf(settings, 'basic', c);
    expect(after.get('one')).toEqual(kept);
    expect(after.get('two')?.metadata.processed).toBeDefined();
  });

  it('deletes the receipt once the function deleted its blob; a late registration fires nothing', async () => {
    const settings = appSettings();
    const c = settings.CONSUME_CONTAINER as string;
    const { host, logger } = await start(settings);
    const uploaded = await Promise.all(['d1', 'd2', 'd3'].map((n) => upload(c, n, n)));
    await waitFor(() => calls('consume', c).length === 3, { what: 'three invocations' });
    await waitFor(async () => (await receiptsOf(settings, 'consume', c)).size === 0, {
      what: 'the receipts to be deleted',
    });
    expect((await blobs().getContainerClient(c).listBlobsFlat().next()).done).toBe(true);

    // Race: a listing (or event) taken before d1 was deleted registers it after its receipt was
    // deleted. The registration re-creates the receipt and queues a message, exactly as a scanner
    // would; the message finds the blob gone, runs nothing and deletes the receipt again.
    const hostAccount = host.services.storage.get(undefined);
    const hostId = settings.AzureFunctionsWebHost__hostid as string;
    const late = new Receipts(
      hostAccount,
      hostId,
      new HostQueue(hostAccount, hostId),
      new SystemClock(),
      () => {},
    );
    expect(await late.register(triggerMessage('consume', c, 'd1', uploaded[0]!.etag))).toBe('queued');
    expect((await receiptsOf(settings, 'consume', c)).has('d1')).toBe(true);
    await waitFor(
      () => logger.records.some((r) => /Blob '.*\/d1' no longer exists; skipped 'consume'/.test(r.msg)),
      {
        what: 'the late message to run',
      },
    );
    await waitFor(async () => (await receiptsOf(settings, 'consume', c)).size === 0, {
      what: 'the re-created receipt to be deleted',
    });
    await sleep(600);
    expect(calls('consume', c)).toHaveLength(3);
    expect((await receiptsOf(settings, 'consume', c)).size).toBe(0);
  });

  it('deletes the receipt of a version deleted or overwritten before its message ran, running nothing', async () => {
    const settings = appSettings();
    const c = settings.BASIC_CONTAINER as string;
    const hostId = settings.AzureFunctionsWebHost__hostid as string;
    const hostReceipts = blobs().getContainerClient('azure-webjobs-hosts');
    await hostReceipts.createIfNotExists();
    const queue = QueueServiceClient.fromConnectionString(azurite().connectionString).getQueueClient(
      `azure-webjobs-blobtrigger-${hostId}`,
    );
    await queue.createIfNotExists();
    // Queued in an earlier run (complete receipt, message waiting), then deleted or overwritten.
    const queued = async (name: string, eTag: string) => {
      await hostReceipts
        .getBlockBlobClient(`blobreceipts/${hostId}/Host.Functions.basic/${eTag}/${c}/${name}`)
        .upload('', 0);
      await queue.sendMessage(
        Buffer.from(JSON.stringify(triggerMessage('basic', c, name, eTag))).toString('base64'),
      );
    };
    const deleted = await upload(c, 'deleted', 'x');
    await queued('deleted', deleted.etag);
    await blobs().getContainerClient(c).getBlobClient('deleted').delete();
    const v1 = await upload(c, 'overwritten', 'v1');
    await queued('overwritten', v1.etag);
    const v2 = await upload(c, 'overwritten', 'v2');

    await start(settings);
    await waitFor(() => calls('basic', c).length === 1, { what: 'the new version to fire' });
    expect(calls('basic', c)[0]!.content).toBe('v2');
    const left = await waitFor(
      async () => {
        const r = await receiptsOf(settings, 'basic', c);
        return r.size === 1 && r.get('overwritten')?.metadata.processed !== undefined && r;
      },
      { what: 'only the receipt of the blob that is still there' },
    );
    expect(left.get('overwritten')!.eTag).toBe(v2.etag);
    await sleep(600);
    expect(calls('basic', c)).toHaveLength(1);
  });

  it('recovers crashes before and after the enqueue, respects live owners, skips deleted blobs', async () => {
    const settings = appSettings();
    const c = settings.BASIC_CONTAINER as string;
    const hostId = settings.AzureFunctionsWebHost__hostid as string;
    const receipts = blobs().getContainerClient('azure-webjobs-hosts');
    await receipts.createIfNotExists();
    const receipt = (etag: string, name: string) =>
      receipts.getBlockBlobClient(`blobreceipts/${hostId}/Host.Functions.basic/${etag}/${c}/${name}`);
    const queue = QueueServiceClient.fromConnectionString(azurite().connectionString).getQueueClient(
      `azure-webjobs-blobtrigger-${hostId}`,
    );
    await queue.createIfNotExists();
    const message = (name: string, etag: string) =>
      Buffer.from(
        JSON.stringify({
          Type: 'BlobTrigger',
          FunctionId: 'Host.Functions.basic',
          BlobType: 'BlockBlob',
          ContainerName: c,
          BlobName: name,
          ETag: etag,
        }),
      ).toString('base64');

    // Crashed after creating the receipt, before queuing: the receipt is still incomplete.
    const r1 = await upload(c, 'r1', 'one');
    await receipt(r1.etag, 'r1').upload('', 0, { metadata: { Incomplete: 'Incomplete' } });
    // Crashed after queuing: receipt complete, message waiting.
    const r2 = await upload(c, 'r2', 'two');
    await receipt(r2.etag, 'r2').upload('', 0);
    await queue.sendMessage(message('r2', r2.etag));
    // Already handled in an earlier run: complete receipt, no message.
    const r3 = await upload(c, 'r3', 'three');
    await receipt(r3.etag, 'r3').upload('', 0);
    // Being queued right now by another live tidemark instance: left to it for the 30 s lease period.
    const r4 = await upload(c, 'r4', 'four');
    await receipt(r4.etag, 'r4').upload('', 0, {
      metadata: { Incomplete: 'Incomplete', TidemarkInstance: 'another-instance' },
    });
    // Queued, then deleted before anything ran.
    await queue.sendMessage(message('gone', '"0x8D000000000000"'));

    const { logger } = await start(settings);
    await waitFor(() => calls('basic', c).length >= 2, { what: 'the recovered blobs' });
    await waitFor(() => logger.records.some((r) => /Blob '.*\/gone' no longer exists; skipped/.test(r.msg)), {
      what: 'the deleted-blob log line',
    });
    await sleep(800);
    expect(
      calls('basic', c)
        .map((x) => x.triggerMetadata.name)
        .sort(),
    ).toEqual(['r1', 'r2']);
    const r1Receipt = await receipt(r1.etag, 'r1').getProperties();
    expect(Object.keys(r1Receipt.metadata ?? {}).map((k) => k.toLowerCase())).not.toContain('incomplete');
    const r4Receipt = await receipt(r4.etag, 'r4').getProperties();
    const r4Metadata = Object.entries(r4Receipt.metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v]);
    expect(Object.fromEntries(r4Metadata)).toEqual({
      incomplete: 'Incomplete',
      tidemarkinstance: 'another-instance',
    });
  });

  it('matches multi-placeholder and prefix patterns and skips blobs that match neither', async () => {
    const settings = appSettings();
    const c = settings.PATTERN_CONTAINER as string;
    await start(settings);
    await Promise.all([
      upload(c, 'in/f1/photo.png', 'p'),
      upload(c, 'in/f1/sub/a.b.txt', 'q'),
      upload(c, 'in/noext', 'x'),
      upload(c, 'prefix-xyz', 'r'),
      upload(c, 'other.txt', 's'),
    ]);
    await waitFor(() => calls('patterns', c).length === 2 && calls('prefixed', c).length === 1, {
      what: 'the pattern functions',
    });
    await sleep(700);
    const seen = calls('patterns', c)
      .map((x) => x.params)
      .sort((a, b) => String(a!.name).localeCompare(String(b!.name)));
    expect(seen).toEqual([
      { folder: 'f1/sub', name: 'a.b', ext: 'txt' },
      { folder: 'f1', name: 'photo', ext: 'png' },
    ]);
    expect(calls('prefixed', c).map((x) => x.params)).toEqual([{ name: 'xyz' }]);
    expect(calls('patterns', c).length + calls('prefixed', c).length).toBe(3);
  });

  it('reads the connection from a named setting holding a full connection string', async () => {
    const settings = appSettings();
    const c = settings.NAMED_CONTAINER as string;
    await start(settings);
    await upload(c, 'n1', 'named');
    await waitFor(() => calls('named', c).length === 1, { what: 'the named-connection function' });
    expect(calls('named', c)[0]!.content).toBe('named');
  });

  it('accepts UseDevelopmentStorage=true (Azurite on the default ports)', async (ctx) => {
    const free = await Promise.all([10000, 10001, 10002].map(portIsFree));
    if (!free.every(Boolean)) {
      ctx.skip(
        'ports 10000-10002 are taken: no Azurite can run on the default ports for UseDevelopmentStorage=true',
      );
      return;
    }
    let dev: AzuriteInstance | undefined;
    try {
      dev = await startAzurite({ blobPort: 10000, queuePort: 10001, tablePort: 10002 });
      const c = uniqueName('dev');
      await start(
        {
          AzureWebJobsStorage: azurite().connectionString,
          DevConn: 'UseDevelopmentStorage=true',
          DEV_CONTAINER: c,
          AzureFunctionsWebHost__hostid: uniqueName('h'),
        },
        DEV_APP,
      );
      const client = BlobServiceClient.fromConnectionString(dev.connectionString).getContainerClient(c);
      await client.createIfNotExists();
      await client.getBlockBlobClient('d1').upload('dev', 3);
      const state = (globalThis as Record<string, unknown>).__blobAppDev as { calls: { content: string }[] };
      await waitFor(() => state?.calls.some((x) => x.content === 'dev'), { what: 'the devstore function' });
    } finally {
      await Promise.all(hosts.splice(0).map((h) => h.dispose()));
      await dev?.stop();
    }
  });

  it('retries a failing function, then moves the message to webjobs-blobtrigger-poison', async () => {
    const settings = appSettings();
    const c = settings.FAIL_CONTAINER as string;
    const { logger } = await start(settings);
    const { etag } = await upload(c, 'bad.delta', 'x');
    await waitFor(() => calls('failing', c).length === 3, { what: 'three attempts' });

    const poison = QueueServiceClient.fromConnectionString(azurite().connectionString).getQueueClient(
      'webjobs-blobtrigger-poison',
    );
    const message = await waitFor(
      async () => {
        const peeked = await poison.peekMessages({ numberOfMessages: 32 });
        return peeked.peekedMessageItems
          .map(
            (m) =>
              JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as Record<string, unknown>,
          )
          .find((m) => m.ContainerName === c);
      },
      { what: 'the poison message' },
    );
    expect(message).toEqual({
      Type: 'BlobTrigger',
      FunctionId: 'Host.Functions.failing',
      BlobType: 'BlockBlob',
      ContainerName: c,
      BlobName: 'bad.delta',
      ETag: etag,
    });
    expect(logger.records.some((r) => r.level === 'error' && /webjobs-blobtrigger-poison/.test(r.msg))).toBe(
      true,
    );
    await sleep(800);
    expect(calls('failing', c)).toHaveLength(3);
  });

  it('runs at most maxDegreeOfParallelism invocations at once', async () => {
    const settings = appSettings();
    const c = settings.SLOW_CONTAINER as string;
    await start(settings);
    appState().maxActive = 0;
    await Promise.all(Array.from({ length: 12 }, (_, i) => upload(c, `s${i}`, `slow ${i}`)));
    await waitFor(() => calls('slow', c).length === 12 && appState().active === 0, {
      what: 'twelve slow invocations',
    });
    expect(appState().maxActive).toBeLessThanOrEqual(4);
    expect(appState().maxActive).toBeGreaterThanOrEqual(3);
  });

  it('fires an EventGrid-source function from a BlobCreated event posted to the webhook', async () => {
    // A one-minute scan interval: after the first scan only the webhook can fire the function.
    const settings = appSettings({ TIDEMARK_BLOB_POLL_INTERVAL_MS: '60000' });
    const c = settings.EG_CONTAINER as string;
    const { host } = await start(settings);
    await sleep(500);
    const blob = blobs().getContainerClient(c).getBlockBlobClient('eg1.txt');
    await blob.upload('grid', 4);
    const key = host.keys.systemKey('blobs_extension');
    const post = (query: string, body: unknown, eventType = 'Notification') =>
      fetch(`${host.url}/runtime/webhooks/blobs?${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'aeg-event-type': eventType },
        body: JSON.stringify(body),
      });
    const created = [
      {
        id: '1',
        eventType: 'Microsoft.Storage.BlobCreated',
        subject: `/blobServices/default/containers/${c}/blobs/eg1.txt`,
        eventTime: new Date().toISOString(),
        data: { api: 'PutBlob', url: blob.url, contentType: 'application/octet-stream' },
        dataVersion: '',
      },
    ];

    expect((await post('functionName=Host.Functions.eventGrid', created)).status).toBe(401);
    expect((await post(`functionName=Host.Functions.basic&code=${key}`, created)).status).toBe(404);
    const validation = await post(
      `functionName=Host.Functions.eventGrid&code=${key}`,
      [{ eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', data: { validationCode: 'abc' } }],
      'SubscriptionValidation',
    );
    expect(validation.status).toBe(200);
    expect(await validation.json()).toEqual({ validationResponse: 'abc' });
    await sleep(300);
    expect(calls('eventGrid', c)).toHaveLength(0);

    const sent = Date.now();
    expect((await post(`functionName=Host.Functions.eventGrid&code=${key}`, created)).status).toBe(202);
    await waitFor(() => calls('eventGrid', c).length === 1, {
      timeoutMs: 2_000,
      what: 'the Event Grid trigger',
    });
    expect(calls('eventGrid', c)[0]!.at - sent).toBeLessThan(1_000);
    // The same version again (Event Grid delivers at least once): receipts keep it to one run.
    expect((await post(`functionName=eventGrid&code=${key}`, created)).status).toBe(202);
    await sleep(500);
    expect(calls('eventGrid', c)).toHaveLength(1);
  });
});

describe('blob bindings', () => {
  it('reads blob inputs and writes string, JSON, bytes and return-value outputs', async () => {
    const settings = appSettings();
    const c = settings.COPY_CONTAINER as string;
    const out = settings.COPY_OUT_CONTAINER as string;
    await start(settings);
    await upload(c, 'side/k1', 'side');
    await upload(c, 'in/k1', 'main');
    await waitFor(() => calls('copy', c).length === 1, { what: 'the copy function' });
    const call = calls('copy', c)[0]!;
    expect(call.side).toBe('side');
    expect(call.sideIsBuffer).toBe(true);
    expect(call.missing).toBeUndefined();

    // Outputs are written after the handler returns, the return value last.
    const returned = await waitFor(() => download(c, 'ret/k1').then((b) => b.toString()), {
      what: 'outputs',
    });
    expect(returned).toBe('returned');
    expect((await download(c, 'out/k1.txt')).toString()).toBe('main+side');
    expect(JSON.parse((await download(out, 'k1.json')).toString())).toEqual({ name: 'k1', size: 4 });
    expect([...(await download(c, 'out/k1.bin'))]).toEqual([1, 2, 3, 255]);
  });

  it('resolves {queueTrigger} paths, reads nothing for a missing blob, creates containers', async () => {
    const settings = appSettings({ BASE: uniqueName('bind') });
    const { host } = await start(settings);
    const provider = createBlobBindingProvider();
    const services: HostServices = host.services;
    const ctx = { functionName: 'f', invocationId: 'i', bindingData: { queueTrigger: 'item-7' }, services };
    const binding = {
      type: 'blob',
      direction: 'in' as const,
      name: 'b',
      path: '%BASE%/{queueTrigger}.txt',
      connection: '',
    };

    expect(await provider.resolveInput!(binding, ctx)).toBeUndefined();
    await provider.writeOutput!({ ...binding, direction: 'out' }, { json: '{"a":1}' }, ctx);
    const read = await provider.resolveInput!(binding, ctx);
    expect(Buffer.from(read!.bytes!).toString()).toBe('{"a":1}');
    const asString = await provider.resolveInput!({ ...binding, dataType: 'string' }, ctx);
    expect(asString).toEqual({ string: '{"a":1}' });
    await expect(provider.resolveInput!({ ...binding, path: '%BASE%/{nothing}' }, ctx)).rejects.toThrow(
      /nothing/,
    );
  });
});

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
