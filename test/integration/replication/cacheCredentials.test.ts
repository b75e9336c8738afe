/**
 * The top-up of agents' cache credentials (shared/replication/cacheCredentials.ts) against real
 * Azurite: a new window once the agent has used more than half, none before, its signatures valid
 * for the next deltas; an ETag-conditional rewrite that never clobbers a concurrent change and never
 * brings back a deleted config.
 */
import { type BlockBlobClient, type ContainerClient } from '@azure/storage-blob';
import { beforeAll, describe, expect, it } from 'vitest';

import { BlobDeltaSink } from '../../../agent/deltaSink';
import {
  AGENT_CONFIG_VERSION,
  agentConfigBlobName,
  type AgentReplicationConfig,
  agentStatusBlobName,
  bumpAppConsistentRequest,
  deleteAgentConfig,
  parseAgentConfig,
  writeAgentConfig,
} from '../../../shared/agentConfig';
import { lastSequenceIn, sasExpiresAt } from '../../../shared/cacheSas';
import { ManualClock } from '../../../shared/clock';
import type { AgentCredentialPolicy } from '../../../shared/config';
import { deltaBlobName } from '../../../shared/delta';
import { RecordingLogger } from '../../../shared/logger';
import type { ProtectedItem } from '../../../shared/protectedItems';
import {
  type CacheCredentialStores,
  cacheCredentialStoresOf,
  issueWindow,
  topUpAllCacheCredentials,
  topUpCacheCredentials,
} from '../../../shared/replication/cacheCredentials';
import { useAzurite, uniqueName } from '../../helpers/azurite';

const HOUR = 3_600_000;
const POLICY: AgentCredentialPolicy = { window: 8, lifetimeMs: 168 * HOUR };

describe("topping up agents' cache credentials (real Azurite)", () => {
  const azurite = useAzurite();
  let stores: CacheCredentialStores;

  beforeAll(async () => {
    stores = cacheCredentialStoresOf(azurite().connectionString);
    await stores.agentConfig.createIfNotExists();
    await stores.cache.createIfNotExists();
  });

  type Item = Pick<ProtectedItem, 'resourceGroup' | 'vm' | 'generation' | 'watermark'>;

  /** A VM whose config holds a window of `POLICY.window` from `firstSequence`, issued `lifetimeMs` long. */
  async function enabled(
    firstSequence = 1,
    extra: Record<string, unknown> = {},
    lifetimeMs = POLICY.lifetimeMs,
  ): Promise<Item> {
    const item = { resourceGroup: uniqueName('rg'), vm: 'vm1', generation: 2, watermark: 0 };
    await writeAgentConfig(stores.agentConfig, {
      version: AGENT_CONFIG_VERSION,
      vmId: `${item.resourceGroup}/vm1`,
      generation: 2,
      cache: issueWindow(stores, item, firstSequence, { ...POLICY, lifetimeMs }, Date.now()),
      flushIntervalMs: 500,
      ...extra,
    });
    return item;
  }

  function configBlob(item: Item): BlockBlobClient {
    return stores.agentConfig.getBlockBlobClient(agentConfigBlobName(item.resourceGroup, item.vm));
  }

  async function rawConfig(item: Item): Promise<Record<string, unknown>> {
    return JSON.parse((await configBlob(item).downloadToBuffer()).toString('utf8')) as Record<
      string,
      unknown
    >;
  }

  async function config(item: Item): Promise<AgentReplicationConfig> {
    const parsed = parseAgentConfig(await rawConfig(item));
    if (!parsed.ok) throw new Error(parsed.problem);
    return parsed.config;
  }

  /** The agent reports `lastSequence` of `generation` in its status blob. */
  async function reports(item: Item, lastSequence: number, generation = item.generation): Promise<void> {
    const body = JSON.stringify({ vmId: `${item.resourceGroup}/${item.vm}`, generation, lastSequence });
    await stores.cache
      .getBlockBlobClient(agentStatusBlobName(item.resourceGroup, item.vm))
      .upload(body, Buffer.byteLength(body));
  }

  const topUp = (
    item: Item,
    options: { maxAttempts?: number; storesOverride?: CacheCredentialStores } = {},
  ) =>
    topUpCacheCredentials(options.storesOverride ?? stores, item, POLICY, {
      now: Date.now(),
      ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    });

  it('keeps the window while at least half of it is left', async () => {
    const item = await enabled();
    const etag = (await configBlob(item).getProperties()).etag;
    expect(await topUp(item)).toEqual({ outcome: 'current', lastUsed: 0, lastSequence: 8 });
    await reports(item, 4);
    expect(await topUp(item)).toEqual({ outcome: 'current', lastUsed: 4, lastSequence: 8 });
    expect((await configBlob(item).getProperties()).etag).toBe(etag);
  });

  it('issues a new window after the last number used once more than half is used, keeping every other field', async () => {
    const item = await enabled(1, { appConsistentRequest: 3 });
    const before = await config(item);
    // The agent's address for the cache stays as written (a proxy, a private endpoint), and a field
    // this version does not know stays too.
    const raw = await rawConfig(item);
    const proxied = {
      ...before.cache,
      containerUrl: before.cache.containerUrl.replace('127.0.0.1', 'localhost'),
    };
    expect(proxied.containerUrl).not.toBe(before.cache.containerUrl);
    await configBlob(item).uploadData(
      Buffer.from(JSON.stringify({ ...raw, comment: 'keep me', cache: proxied })),
    );
    await reports(item, 5);
    expect(await topUp(item)).toEqual({
      outcome: 'renewed',
      reason: 'used',
      firstSequence: 6,
      lastSequence: 13,
    });
    const after = await rawConfig(item);
    expect(after).toMatchObject({
      appConsistentRequest: 3,
      comment: 'keep me',
      flushIntervalMs: 500,
      generation: 2,
    });
    const next = await config(item);
    expect(next.cache.containerUrl).toBe(proxied.containerUrl);
    expect(next.cache.deltaSas).toMatchObject({ generation: 2, firstSequence: 6 });
    expect(lastSequenceIn(next.cache.deltaSas)).toBe(13);
    expect(sasExpiresAt(next.cache.deltaSas.query)).toBeGreaterThan(Date.now() + 167 * HOUR);
    // The new signatures create the agent's next deltas; the old window still works until it expires.
    const sink = new BlobDeltaSink(next.cache);
    for (const sequence of [6, 13]) {
      const name = deltaBlobName({ ...item, sequence });
      expect(await sink.putDelta(name, Buffer.from('d'), {})).toBe('created');
    }
    await expect(
      sink.putDelta(deltaBlobName({ ...item, sequence: 14 }), Buffer.from('d'), {}),
    ).rejects.toMatchObject({
      reason: 'pending',
    });
    expect(
      await new BlobDeltaSink(before.cache).putDelta(
        deltaBlobName({ ...item, sequence: 7 }),
        Buffer.from('d'),
        {},
      ),
    ).toBe('created');
    // Now it has half of a window again: nothing to do.
    await reports(item, 9);
    expect(await topUp(item)).toMatchObject({ outcome: 'current' });
  });

  it("takes the item's watermark as a floor, and ignores a status of another generation", async () => {
    const item = await enabled();
    await reports(item, 50, 1);
    expect(await topUp({ ...item, watermark: 6 })).toMatchObject({ outcome: 'renewed', firstSequence: 7 });
    await reports(item, 12);
    expect(await topUp({ ...item, watermark: 6 })).toMatchObject({ outcome: 'renewed', firstSequence: 13 });
  });

  it('renews credentials that expire within a day, and a window that starts past the next number', async () => {
    const expiring = await enabled(1, {}, 20 * HOUR);
    expect(await topUp(expiring)).toMatchObject({ outcome: 'renewed', reason: 'expiring', firstSequence: 1 });
    const ahead = await enabled(5);
    expect(await topUp(ahead)).toMatchObject({ outcome: 'renewed', reason: 'behind', firstSequence: 1 });
  });

  it('leaves alone a missing config, an invalid one, and one of another generation', async () => {
    const none = { resourceGroup: uniqueName('rg'), vm: 'vm1', generation: 1, watermark: 0 };
    expect(await topUp(none)).toEqual({ outcome: 'skipped', reason: 'noConfig' });
    expect(await configBlob(none).exists()).toBe(false);

    const invalid = await enabled();
    const broken = JSON.stringify({ version: 1, vmId: `${invalid.resourceGroup}/vm1`, generation: 2 });
    await configBlob(invalid).upload(broken, broken.length);
    await reports(invalid, 7);
    expect(await topUp(invalid)).toEqual({ outcome: 'skipped', reason: 'invalidConfig' });
    expect((await configBlob(invalid).downloadToBuffer()).toString()).toBe(broken);

    const other = await enabled();
    await reports(other, 7);
    expect(await topUp({ ...other, generation: 3 })).toEqual({
      outcome: 'skipped',
      reason: 'otherGeneration',
    });
  });

  /** The stores, with `afterRead` run right after each read of a config (before its rewrite). */
  function interleaved(afterRead: () => Promise<void>): CacheCredentialStores {
    const agentConfig = new Proxy(stores.agentConfig, {
      get(target, prop, receiver) {
        if (prop !== 'getBlockBlobClient') return Reflect.get(target, prop, receiver) as unknown;
        return (name: string) => {
          const blob = target.getBlockBlobClient(name);
          return new Proxy(blob, {
            get(b, p, r) {
              if (p !== 'download') return Reflect.get(b, p, r) as unknown;
              return async (...args: Parameters<BlockBlobClient['download']>) => {
                const response = await b.download(...args);
                await afterRead();
                return response;
              };
            },
          });
        };
      },
    }) as ContainerClient;
    return { ...stores, agentConfig };
  }

  it('never clobbers a concurrent change: it reads again, and keeps the change', async () => {
    const item = await enabled();
    await reports(item, 7);
    let bumps = 0;
    const racing = interleaved(async () => {
      if (bumps++ === 0) await bumpAppConsistentRequest(stores.agentConfig, item.resourceGroup, item.vm);
    });
    expect(await topUp(item, { storesOverride: racing })).toMatchObject({
      outcome: 'renewed',
      firstSequence: 8,
    });
    expect(bumps).toBe(2);
    expect(await config(item)).toMatchObject({
      appConsistentRequest: 1,
      cache: { deltaSas: { firstSequence: 8 } },
    });

    // Changed on every read: it gives up and leaves the config as the other writer left it.
    const busy = await enabled();
    await reports(busy, 7);
    const always = interleaved(() =>
      bumpAppConsistentRequest(stores.agentConfig, busy.resourceGroup, busy.vm).then(() => undefined),
    );
    expect(await topUp(busy, { storesOverride: always, maxAttempts: 2 })).toEqual({
      outcome: 'skipped',
      reason: 'conflict',
    });
    expect(await config(busy)).toMatchObject({
      appConsistentRequest: 2,
      cache: { deltaSas: { firstSequence: 1 } },
    });
  });

  it('does nothing when the config is deleted meanwhile (disable): it stays deleted', async () => {
    const item = await enabled();
    await reports(item, 7);
    const deleting = interleaved(async () => {
      await deleteAgentConfig(stores.agentConfig, item.resourceGroup, item.vm);
    });
    expect(await topUp(item, { storesOverride: deleting })).toEqual({
      outcome: 'skipped',
      reason: 'noConfig',
    });
    expect(await configBlob(item).exists()).toBe(false);
  });

  it("renews every item that needs it; one item's failure is logged and the others go on", async () => {
    const [a, b, c] = [await enabled(), await enabled(), await enabled()];
    await reports(a, 7);
    await reports(c, 6);
    const logger = new RecordingLogger();
    const broken = { ...b, resourceGroup: 'bad/rg' } as ProtectedItem;
    const renewed = await topUpAllCacheCredentials(stores, [a, broken, b, c] as ProtectedItem[], POLICY, {
      clock: new ManualClock(Date.now()),
      logger,
    });
    expect(renewed).toEqual([`${a.resourceGroup}/vm1`, `${c.resourceGroup}/vm1`]);
    const warned = logger.records.filter((r) => r.level === 'warn');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({
      msg: expect.stringMatching(/Could not renew/),
      fields: { vm: 'bad/rg/vm1' },
    });
  });
});
