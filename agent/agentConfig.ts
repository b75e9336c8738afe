/**
 * The agent's side of its replication config (shared/agentConfig.ts): reading the blob and telling
 * apart "none" (replication off), "invalid" (keep going as before, report it) and a valid config.
 * A storage failure throws, so a blip is never mistaken for "replication disabled".
 */
import { type ContainerClient, RestError } from '@azure/storage-blob';

import {
  agentConfigBlobName,
  type AgentReplicationConfig,
  MAX_CONFIG_BYTES,
  parseAgentConfig,
} from '../shared/agentConfig';
import { ensureError } from '../shared/errors';

export type ConfigRead =
  | { kind: 'absent' }
  | { kind: 'invalid'; problem: string }
  | { kind: 'valid'; config: AgentReplicationConfig };

/** A blob larger than any config tidemark writes is refused unread, however it got there. */
export { MAX_CONFIG_BYTES };

/** The last read of a config blob: its ETag and what it said. */
export interface ConfigReadCache {
  etag: string;
  read: ConfigRead;
}

/**
 * Reads the VM's config. With `cache` (the previous read, kept by the caller), the download is
 * conditional: an unchanged blob answers 304 with no body, and the previous read is returned
 * without parsing it again (a config carries hundreds of SAS signatures and is polled every few
 * seconds by every agent).
 */
export async function readAgentConfig(
  container: ContainerClient,
  resourceGroup: string,
  vm: string,
  cache?: { current?: ConfigReadCache },
): Promise<ConfigRead> {
  const name = agentConfigBlobName(resourceGroup, vm);
  const where = `${container.containerName}/${name}`;
  let body: Buffer;
  let etag: string | undefined;
  try {
    const previous = cache?.current;
    const response = await container
      .getBlobClient(name)
      .download(0, undefined, previous ? { conditions: { ifNoneMatch: previous.etag } } : {});
    etag = response.etag;
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
    if (err instanceof RestError && err.statusCode === 304 && cache?.current) return cache.current.read;
    if (cache) cache.current = undefined;
    if (err instanceof RestError && err.statusCode === 404) return { kind: 'absent' };
    throw err;
  }
  const read = checkAgentConfig(body.toString('utf8'), `${resourceGroup}/${vm}`, where);
  if (cache) cache.current = etag ? { etag, read } : undefined;
  return read;
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
