/**
 * The agent's side of its replication config (shared/agentConfig.ts): reading the blob and telling
 * apart "none" (replication off), "invalid" (keep going as before, report it) and a valid config.
 * A storage failure throws, so a blip is never mistaken for "replication disabled".
 */
import { type ContainerClient, RestError } from '@azure/storage-blob';

import { agentConfigBlobName, type AgentReplicationConfig, parseAgentConfig } from '../shared/agentConfig';
import { ensureError } from '../shared/errors';

export type ConfigRead =
  | { kind: 'absent' }
  | { kind: 'invalid'; problem: string }
  | { kind: 'valid'; config: AgentReplicationConfig };

export async function readAgentConfig(
  container: ContainerClient,
  resourceGroup: string,
  vm: string,
): Promise<ConfigRead> {
  const name = agentConfigBlobName(resourceGroup, vm);
  let body: Buffer;
  try {
    body = await container.getBlobClient(name).downloadToBuffer();
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) return { kind: 'absent' };
    throw err;
  }
  return checkAgentConfig(
    body.toString('utf8'),
    `${resourceGroup}/${vm}`,
    `${container.containerName}/${name}`,
  );
}

/** Parses and validates the blob's text for this VM. */
export function checkAgentConfig(text: string, vmId: string, where: string): ConfigRead {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { kind: 'invalid', problem: `${where} is not JSON: ${ensureError(err).message}` };
  }
  const parsed = parseAgentConfig(value);
  if (!parsed.ok) return { kind: 'invalid', problem: `${where}: ${parsed.problem}` };
  if (parsed.config.vmId !== vmId) {
    return { kind: 'invalid', problem: `${where}: vmId is ${parsed.config.vmId}, not this VM (${vmId})` };
  }
  return { kind: 'valid', config: parsed.config };
}
