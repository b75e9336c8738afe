/**
 * "Stopping replication": the agent config `agent-config/{rg}/{vm}.json` in the source region is
 * deleted, which makes the VM's mobility agent stop journaling, ship what it journaled and report
 * `NotReplicating` once more (agent/agent.ts). The generation is kept in a tombstone beside it,
 * `{rg}/{vm}/retired-generation.json`, which the agent never reads, so enabling replication again can take a
 * generation above every one the VM had. Idempotent: deleting a config that is gone is fine.
 */
import { type ContainerClient, RestError } from '@azure/storage-blob';

import { type AgentStatus, agentStatusBlobName, retireAgentConfig } from '../../shared/agentConfig';
import { CONTAINERS } from '../../shared/storageNames';
import type { ClaimedRef } from '../claimedJob';
import { claimedItem } from './prerequisites.activities';
import { inSource } from './source.activities';
import type { AgentStopStatus, SourceOutcome } from './types';

async function readJson(container: ContainerClient, name: string): Promise<Record<string, unknown> | null> {
  try {
    const body = await container.getBlobClient(name).downloadToBuffer();
    const value = JSON.parse(body.toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) return null;
    if (err instanceof SyntaxError) return null;
    throw err;
  }
}

/** Records the highest generation in the tombstone, then deletes the agent config. */
export async function stopAgent(ref: ClaimedRef): Promise<SourceOutcome<{ deleted: boolean }>> {
  const item = await claimedItem(ref);
  return inSource(ref.direction, async (source) => ({
    deleted: await retireAgentConfig(
      source.getContainerClient(CONTAINERS.agentConfig),
      ref.resourceGroup,
      ref.vm,
      {
        generation: item.generation,
        jobId: ref.jobId,
      },
    ),
  }));
}

function stopStatus(status: AgentStatus | null): AgentStopStatus {
  if (!status) return { stopped: true, health: null, generation: null, updatedAt: null };
  const stopped =
    status.generation === null || status.health === 'NotReplicating' || status.health === 'Stopped';
  return {
    stopped,
    health: status.health ?? null,
    generation: status.generation ?? null,
    updatedAt: status.updatedAt ?? null,
  };
}

/** What the agent last reported (`cache/{rg}/{vm}/agent.json`); stopped when it never did. */
export async function agentStopStatus(ref: ClaimedRef): Promise<SourceOutcome<AgentStopStatus>> {
  return inSource(ref.direction, async (source) => {
    const cache = source.getContainerClient(CONTAINERS.cache);
    const status = await readJson(cache, agentStatusBlobName(ref.resourceGroup, ref.vm));
    return stopStatus(status as AgentStatus | null);
  });
}
