/**
 * Agent configs for tests: real cache credentials signed for an Azurite (as enable replication
 * issues them), or well-formed fake ones for agents whose sink is in memory.
 */
import { createHash } from 'node:crypto';

import {
  AGENT_CONFIG_VERSION,
  type AgentCacheCredentials,
  type AgentReplicationConfigInput,
} from '../../shared/agentConfig';
import { issueAgentCacheCredentials } from '../../shared/cacheSas';

export interface TestCredentialSpec {
  resourceGroup: string;
  vm: string;
  generation?: number;
  firstSequence?: number;
  /** Sequence numbers covered; 512 (the default setting) unless given. */
  window?: number;
  /** Valid this long from now (1 h unless given), starting 10 minutes ago. */
  validForMs?: number;
  /** The container URL points at this port on the same host (a proxy in front of the cache). */
  port?: number;
  /** Another container than the cache. */
  container?: string;
}

/** Real credentials for the cache of the Azurite behind `connectionString`. */
export function issueTestCacheCredentials(
  connectionString: string,
  spec: TestCredentialSpec,
): AgentCacheCredentials {
  const now = Date.now();
  const credentials = issueAgentCacheCredentials(connectionString, {
    resourceGroup: spec.resourceGroup,
    vm: spec.vm,
    generation: spec.generation ?? 1,
    firstSequence: spec.firstSequence ?? 1,
    window: spec.window ?? 512,
    startsOn: new Date(now - 10 * 60_000),
    expiresOn: new Date(now + (spec.validForMs ?? 3_600_000)),
    ...(spec.container === undefined ? {} : { container: spec.container }),
  });
  if (spec.port !== undefined) {
    const url = new URL(credentials.containerUrl);
    url.port = String(spec.port);
    credentials.containerUrl = url.toString().replace(/\/$/, '');
  }
  return credentials;
}

/** A version-2 agent config with real credentials for the cache of that Azurite. */
export function testAgentConfig(
  connectionString: string,
  spec: TestCredentialSpec & Omit<Partial<AgentReplicationConfigInput>, 'vmId' | 'generation' | 'cache'>,
): AgentReplicationConfigInput {
  const {
    resourceGroup,
    vm,
    generation = 1,
    firstSequence,
    window,
    validForMs,
    port,
    container,
    ...settings
  } = spec;
  return {
    version: AGENT_CONFIG_VERSION,
    vmId: `${resourceGroup}/${vm}`,
    generation,
    cache: issueTestCacheCredentials(connectionString, {
      resourceGroup,
      vm,
      generation,
      ...(firstSequence === undefined ? {} : { firstSequence }),
      ...(window === undefined ? {} : { window }),
      ...(validForMs === undefined ? {} : { validForMs }),
      ...(port === undefined ? {} : { port }),
      ...(container === undefined ? {} : { container }),
    }),
    ...settings,
  };
}

/** A stand-in signature: 44 base64 characters, as a real one. */
function fakeSignature(seed: string): string {
  return createHash('sha256').update(seed).digest('base64');
}

/**
 * Well-formed credentials no storage accepts, for an agent whose sink is in memory; `tag` ends the
 * container URL, so a test can tell which credentials an upload used.
 */
export function fakeCacheCredentials(
  spec: { generation?: number; tag?: string; firstSequence?: number; window?: number } = {},
): AgentCacheCredentials {
  const { generation = 1, tag = 'a', firstSequence = 1, window = 64 } = spec;
  return {
    containerUrl: `http://cache.example/cache-${tag}`,
    statusSas: `sv=2026-04-06&se=2099-01-01T00%3A00%3A00Z&sr=b&sp=cw&sig=${encodeURIComponent(fakeSignature(`${tag}/status`))}`,
    deltaSas: {
      generation,
      firstSequence,
      query: 'sv=2026-04-06&se=2099-01-01T00%3A00%3A00Z&sr=b&sp=c',
      signatures: Array.from({ length: window }, (_, i) =>
        fakeSignature(`${tag}/${generation}/${firstSequence + i}`),
      ),
    },
  };
}

/** A version-2 config for `rg/vm` with fake credentials matching its generation. */
export function fakeAgentConfig(
  overrides: Omit<Partial<AgentReplicationConfigInput>, 'version'> & { tag?: string } = {},
): AgentReplicationConfigInput {
  const { tag, ...rest } = overrides;
  const generation = rest.generation ?? 1;
  return {
    version: AGENT_CONFIG_VERSION,
    vmId: 'rg/vm',
    generation,
    cache: fakeCacheCredentials({ generation, ...(tag === undefined ? {} : { tag }) }),
    ...rest,
  };
}
