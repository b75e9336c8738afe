/**
 * Keeps each agent supplied with cache credentials (shared/cacheSas.ts): its config carries blob
 * SAS signatures for a window of delta sequence numbers, and the agent can create no delta past the
 * window's end. The sweep timer (functions/sweepCache.ts) calls `topUpCacheCredentials` for every
 * protected item every 30 s: when fewer than half a window is left after the last sequence number
 * the agent used, or the SAS expires soon, the config gets a new window from there.
 *
 * The last number used is the agent's status (`lastSequence` in `{rg}/{vm}/agent.json`, which
 * the agent writes at least every 10 s and at once when it starts waiting), with the item's
 * watermark as a floor: what was applied was shipped. Both only ever grow within a generation.
 *
 * The config is rewritten with an ETag-conditional read-modify-write that keeps every other field
 * (and the cache's address) as it is, so a concurrent bookmark request, disable or re-enable is never clobbered (on a
 * conflict it reads again); a config that is gone, invalid, or for another generation is left alone.
 */
import { BlobServiceClient, type ContainerClient, RestError } from '@azure/storage-blob';

import {
  agentConfigBlobName,
  agentConfigBody,
  type AgentStatus,
  agentStatusBlobName,
  type ConfigForUpdate,
  parseAgentConfig,
  readConfigForUpdate,
} from '../agentConfig';
import { issueAgentCacheCredentials, lastSequenceIn, windowRenewalReason } from '../cacheSas';
import type { Clock } from '../clock';
import type { AgentCredentialPolicy, TidemarkConfig } from '../config';
import { ensureError, TidemarkError } from '../errors';
import type { Logger } from '../logger';
import type { ProtectedItem } from '../protectedItems';
import { CONTAINERS } from '../storageNames';

/** Where the credentials are read and written, and the key that signs them: the VM's source region. */
export interface CacheCredentialStores {
  /** The source account's agent-config container. */
  agentConfig: ContainerClient;
  /** The cache container (the agent's status blob is there). */
  cache: ContainerClient;
  /** The cache account's connection string, with its key. */
  cacheConnectionString: string;
}

export function cacheCredentialStores(config: TidemarkConfig): CacheCredentialStores {
  const source = config.source.connectionString;
  if (!source) {
    throw new TidemarkError('InvalidConfig', 'Issuing agent credentials needs the source storage.', {
      hint: 'Set TIDEMARK_SOURCE_STORAGE to the cache account connection string.',
    });
  }
  return cacheCredentialStoresOf(source);
}

/** The stores in the account behind a connection string with its key. */
export function cacheCredentialStoresOf(connectionString: string): CacheCredentialStores {
  const service = BlobServiceClient.fromConnectionString(connectionString);
  return {
    agentConfig: service.getContainerClient(CONTAINERS.agentConfig),
    cache: service.getContainerClient(CONTAINERS.cache),
    cacheConnectionString: connectionString,
  };
}

/** A SAS starts this long before now, so an agent whose clock is behind can use it at once. */
export const SAS_START_SKEW_MS = 5 * 60_000;

/** Renew when less than a day of validity is left, or half the lifetime when that is shorter. */
export function renewBeforeMs(policy: AgentCredentialPolicy): number {
  return Math.min(24 * 3_600_000, Math.floor(policy.lifetimeMs / 2));
}

/** A fresh status SAS and delta window for `generation`, starting at `firstSequence`. */
export function issueWindow(
  stores: Pick<CacheCredentialStores, 'cacheConnectionString' | 'cache'>,
  vm: { resourceGroup: string; vm: string; generation: number },
  firstSequence: number,
  policy: AgentCredentialPolicy,
  now: number,
): ReturnType<typeof issueAgentCacheCredentials> {
  return issueAgentCacheCredentials(stores.cacheConnectionString, {
    resourceGroup: vm.resourceGroup,
    vm: vm.vm,
    generation: vm.generation,
    firstSequence,
    window: policy.window,
    startsOn: new Date(now - SAS_START_SKEW_MS),
    expiresOn: new Date(now + policy.lifetimeMs),
    container: stores.cache.containerName,
  });
}

/**
 * The highest sequence number of `generation` the VM's agent is known to have used: its status in
 * the cache (0 when absent, unreadable, or of another generation), at least `floor`.
 */
export async function agentLastSequence(
  cache: ContainerClient,
  vm: { resourceGroup: string; vm: string; generation: number },
  floor = 0,
): Promise<number> {
  let status: Partial<AgentStatus> | undefined;
  try {
    const body = await cache.getBlobClient(agentStatusBlobName(vm.resourceGroup, vm.vm)).downloadToBuffer();
    status = JSON.parse(body.toString('utf8')) as Partial<AgentStatus>;
  } catch (err) {
    if (!(err instanceof SyntaxError) && !(err instanceof RestError && err.statusCode === 404)) throw err;
  }
  const shipped =
    status?.generation === vm.generation &&
    typeof status.lastSequence === 'number' &&
    Number.isSafeInteger(status.lastSequence) &&
    status.lastSequence > 0
      ? status.lastSequence
      : 0;
  return Math.max(shipped, floor);
}

export type TopUpResult =
  | {
      outcome: 'renewed';
      reason: 'used' | 'behind' | 'expiring';
      firstSequence: number;
      lastSequence: number;
    }
  | { outcome: 'current'; lastUsed: number; lastSequence: number }
  /** No config (replication off at the agent), or one this must not touch: left as it is. */
  | { outcome: 'skipped'; reason: 'noConfig' | 'invalidConfig' | 'otherGeneration' | 'conflict' };

/**
 * Gives the VM's agent a new delta window when it needs one (see the file comment). `item` is the
 * protected item: its generation must be the config's, its watermark is a floor for the last
 * sequence used.
 */
export async function topUpCacheCredentials(
  stores: CacheCredentialStores,
  item: Pick<ProtectedItem, 'resourceGroup' | 'vm' | 'generation' | 'watermark'>,
  policy: AgentCredentialPolicy,
  { now, maxAttempts = 3 }: { now: number; maxAttempts?: number },
): Promise<TopUpResult> {
  const blob = stores.agentConfig.getBlockBlobClient(agentConfigBlobName(item.resourceGroup, item.vm));
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    let read: ConfigForUpdate | undefined;
    try {
      read = await readConfigForUpdate(blob);
    } catch (err) {
      if (err instanceof SyntaxError) return { outcome: 'skipped', reason: 'invalidConfig' };
      throw err;
    }
    if (!read) return { outcome: 'skipped', reason: 'noConfig' };
    const { etag, raw } = read;
    const parsed = parseAgentConfig(raw);
    if (!parsed.ok || parsed.config.vmId !== `${item.resourceGroup}/${item.vm}`) {
      return { outcome: 'skipped', reason: 'invalidConfig' };
    }
    const config = parsed.config;
    if (config.generation !== item.generation) return { outcome: 'skipped', reason: 'otherGeneration' };
    const vm = { resourceGroup: item.resourceGroup, vm: item.vm, generation: config.generation };
    const lastUsed = await agentLastSequence(stores.cache, vm, item.watermark);
    const window = config.cache.deltaSas;
    const reason = windowRenewalReason({
      window,
      lastUsed,
      now,
      size: policy.window,
      renewBeforeMs: renewBeforeMs(policy),
    });
    if (!reason) return { outcome: 'current', lastUsed, lastSequence: lastSequenceIn(window) };
    // New signatures; the address stays as written (a signature covers the account, container and
    // blob name, not the host: an agent that reaches the cache by another address keeps it).
    const cache = {
      ...issueWindow(stores, vm, lastUsed + 1, policy, now),
      containerUrl: config.cache.containerUrl,
    };
    try {
      await blob.uploadData(agentConfigBody({ ...raw, cache }), {
        conditions: { ifMatch: etag },
        blobHTTPHeaders: { blobContentType: 'application/json' },
      });
      return {
        outcome: 'renewed',
        reason,
        firstSequence: cache.deltaSas.firstSequence,
        lastSequence: lastSequenceIn(cache.deltaSas),
      };
    } catch (err) {
      // 412: changed since it was read (a bookmark request, a re-enable): read it again.
      // 404: deleted meanwhile (disable): the next read says so.
      if (!(err instanceof RestError && (err.statusCode === 412 || err.statusCode === 404))) throw err;
    }
  }
  return { outcome: 'skipped', reason: 'conflict' };
}

/**
 * The sweep timer's pass: tops up every item's agent (one failure is logged, the others go on).
 * Returns the VMs whose agent got a new window.
 */
export async function topUpAllCacheCredentials(
  stores: CacheCredentialStores,
  items: readonly ProtectedItem[],
  policy: AgentCredentialPolicy,
  { clock, logger }: { clock: Clock; logger: Logger },
): Promise<string[]> {
  const renewed: string[] = [];
  for (const item of items) {
    const vm = `${item.resourceGroup}/${item.vm}`;
    try {
      const result = await topUpCacheCredentials(stores, item, policy, { now: clock.now() });
      if (result.outcome === 'renewed') {
        renewed.push(vm);
        logger.debug('Agent cache credentials renewed', {
          vm,
          reason: result.reason,
          firstSequence: result.firstSequence,
          lastSequence: result.lastSequence,
        });
      } else if (result.outcome === 'skipped' && result.reason === 'conflict') {
        logger.warn('Agent config kept changing; its cache credentials are renewed next sweep', { vm });
      }
    } catch (err) {
      logger.warn("Could not renew an agent's cache credentials; the next sweep tries again", {
        vm,
        error: ensureError(err).message,
      });
    }
  }
  return renewed;
}
