/**
 * The mobility agent's side of enable-replication: its config (cache credentials, generation), which
 * makes it journal every write from then on, and its status, which says when it has started.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { RestError } from '@azure/storage-blob';

import {
  AGENT_CONFIG_VERSION,
  type AgentStatus,
  agentStatusBlobName,
  writeAgentConfig,
} from '../../shared/agentConfig';
import { TidemarkError } from '../../shared/errors';
import { agentLastSequence, issueWindow } from '../../shared/replication/cacheCredentials';
import { CONTAINERS } from '../../shared/storageNames';
import { enableServices } from './services.activities';
import type { AgentStatusSummary, VmGeneration } from './types';

/**
 * Creates the cache container and writes (overwrites) the agent config with its first cache
 * credentials: a status SAS and a window of delta SAS from sequence 1 of the new generation, or, when
 * this runs again after the agent started shipping it, from the agent's next sequence number (the
 * sweep timer tops the window up from then on). Idempotent.
 */
export async function writeConfig(input: VmGeneration): Promise<void> {
  const s = enableServices(input.direction);
  const cache = s.source.getContainerClient(CONTAINERS.cache);
  await cache.createIfNotExists();
  const item = await s.items.get(input.resourceGroup, input.vm);
  const floor = item?.generation === input.generation ? item.watermark : 0;
  const lastUsed = await agentLastSequence(cache, input, floor);
  await writeAgentConfig(s.source.getContainerClient(CONTAINERS.agentConfig), {
    version: AGENT_CONFIG_VERSION,
    vmId: `${input.resourceGroup}/${input.vm}`,
    generation: input.generation,
    cache: issueWindow(
      { cacheConnectionString: s.sourceConnectionString, cache },
      input,
      lastUsed + 1,
      s.config.agentCredentials,
      Date.now(),
    ),
    ...s.config.agent,
  });
}

/** What the agent last reported, or null when it never has. */
export async function readAgentStatus(input: VmGeneration): Promise<AgentStatusSummary | null> {
  const blob = enableServices(input.direction)
    .source.getContainerClient(CONTAINERS.cache)
    .getBlobClient(agentStatusBlobName(input.resourceGroup, input.vm));
  let status: AgentStatus;
  try {
    status = JSON.parse((await blob.downloadToBuffer()).toString('utf8')) as AgentStatus;
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) return null;
    if (err instanceof SyntaxError) return null;
    throw err;
  }
  return {
    generation: status.generation,
    health: status.health,
    updatedAt: status.updatedAt,
    ...(status.configError ? { configError: status.configError } : {}),
    ...(status.error ? { error: status.error } : {}),
  };
}

/** How long consistencyBarrier waits for the agent's status to be written twice. */
export const BARRIER_WAIT_MS = 90_000;
const BARRIER_POLL_MS = 250;

/**
 * A source time (the agent's clock) after which every write acknowledged before this call is in a
 * delta: the `updatedAt` of the second status the agent writes from now on. (The first may have been
 * taken before now and written after; the agent writes one status at a time, so the second was taken
 * after the first was written, after now.) Writes are journaled with the same clock, in order, so once
 * the watermark's time passes it, every write made before this call is applied. Called when the copy
 * of the source (initial replication, reprotect's sync) has ended: a replica is crash-consistent only
 * from there on, because the copy may have read a write whose predecessors still wait in the cache.
 * Comparing the agent's times with each other only, it does not care about clock skew.
 */
export async function consistencyBarrier(input: VmGeneration): Promise<number> {
  const blob = enableServices(input.direction)
    .source.getContainerClient(CONTAINERS.cache)
    .getBlobClient(agentStatusBlobName(input.resourceGroup, input.vm));
  const etag = async (): Promise<string | undefined> => {
    try {
      return (await blob.getProperties()).etag;
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err;
    }
  };
  let seen = await etag();
  let changes = 0;
  const deadline = Date.now() + BARRIER_WAIT_MS;
  while (Date.now() < deadline) {
    await sleep(BARRIER_POLL_MS);
    const now = await etag();
    if (now === undefined || now === seen) continue;
    seen = now;
    if (++changes < 2) continue;
    // What is read now was written at the second change or later: later is as good.
    let status: AgentStatus | undefined;
    try {
      status = JSON.parse((await blob.downloadToBuffer()).toString('utf8')) as AgentStatus;
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
    }
    const time = status?.updatedAt ? Date.parse(status.updatedAt) : NaN;
    if (status?.generation === input.generation && Number.isFinite(time)) return time;
    changes = 1;
  }
  throw new TidemarkError(
    'StorageUnavailable',
    `The mobility agent of VM ${input.resourceGroup}/${input.vm} did not report its status twice within ${BARRIER_WAIT_MS / 1000} s, so the end of the copy cannot be placed in its journal.`,
    { retryable: true, hint: 'Make sure the agent runs and can reach the cache storage account.' },
  );
}
