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

/** A config is a few hundred bytes; a blob far larger is refused unread, however it got there. */
export const MAX_CONFIG_BYTES = 64 * 1024;

export async function readAgentConfig(
  container: ContainerClient,
  resourceGroup: string,
  vm: string,
): Promise<ConfigRead> {
  const name = agentConfigBlobName(resourceGroup, vm);
  const where = `${container.containerName}/${name}`;
  let body: Buffer;
  try {
    const response = await container.getBlobClient(name).download();
    const length = response.contentLength ?? 0;
    const stream = response.readableStreamBody as (NodeJS.ReadableStream & { destroy(): void }) | undefined;
    if (length > MAX_CONFIG_BYTES) {
      stream?.destroy();
      return { kind: 'invalid', problem: `${where} is ${length} bytes, more than ${MAX_CONFIG_BYTES}` };
    }
    const chunks: Buffer[] = [];
    if (stream) for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
    body = Buffer.concat(chunks);
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) return { kind: 'absent' };
    throw err;
  }
  return checkAgentConfig(body.toString('utf8'), `${resourceGroup}/${vm}`, where);
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
