/**
 * The mobility agent's side of enable-replication: its config (cache SAS, generation), which makes
 * it journal every write from then on, and its status, which says when it has started.
 */
import { RestError } from '@azure/storage-blob';

import { type AgentStatus, agentStatusBlobName, writeAgentConfig } from '../../shared/agentConfig';
import { agentCacheSasUrl } from '../../shared/cacheSas';
import { CONTAINERS } from '../../shared/storageNames';
import { enableServices } from './services.activities';
import type { AgentStatusSummary, VmGeneration } from './types';

/** The agent's cache credential is valid this long; enable-replication hands out a new one. */
export const CACHE_SAS_VALIDITY_MS = 30 * 24 * 3_600_000;

/** Creates the cache container and writes (overwrites) the agent config: idempotent. */
export async function writeConfig(input: VmGeneration): Promise<void> {
  const s = enableServices(input.direction);
  await s.source.getContainerClient(CONTAINERS.cache).createIfNotExists();
  const now = Date.now();
  await writeAgentConfig(s.source.getContainerClient(CONTAINERS.agentConfig), {
    version: 1,
    vmId: `${input.resourceGroup}/${input.vm}`,
    generation: input.generation,
    cacheContainerSasUrl: agentCacheSasUrl(s.sourceConnectionString, CONTAINERS.cache, {
      startsOn: new Date(now - 5 * 60_000),
      expiresOn: new Date(now + CACHE_SAS_VALIDITY_MS),
    }),
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
