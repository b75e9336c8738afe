/**
 * The contract between the control plane and a VM's mobility agent (docs/agent.md). Config: a JSON
 * blob `{CONTAINERS.agentConfig}/{rg}/{vm}.json` in the source storage account that the
 * enable-replication workflow writes and the agent polls (it never listens for the control plane);
 * deleting it disables replication. Status: `{rg}/{vm}/agent.json` the agent writes to the cache.
 */
import { type BlockBlobClient, type ContainerClient, RestError } from '@azure/storage-blob';
import { z } from 'zod';

import { vmIdProblem } from './delta/vmId';
import { TidemarkError } from './errors';

const MiB = 1024 * 1024;

/** The config format this code writes and its agent reads. */
export const AGENT_CONFIG_VERSION = 2;

/**
 * A config is a few dozen KiB at most (a 512-entry delta window is about 25 KiB); the agent refuses
 * a larger blob unread.
 */
export const MAX_CONFIG_BYTES = 64 * 1024;

/** The most delta signatures one config carries (about 47 bytes each in the JSON). */
export const MAX_DELTA_SAS_WINDOW = 1024;

/** An HMAC-SHA256 signature in base64, as a service SAS's `sig` carries it (before URL encoding). */
const SIGNATURE = /^[A-Za-z0-9+/]{43}=$/;

/** A SAS query as the SDK prints it: `name=value` pairs, values URL-encoded, no `?`, `#` or `/`. */
const SAS_QUERY = /^[a-z]+=[A-Za-z0-9%._~,:+-]*(&[a-z]+=[A-Za-z0-9%._~,:+-]*)*$/;

function sasQuery(withSignature: boolean) {
  return z
    .string()
    .max(1024)
    .regex(SAS_QUERY, 'must be a SAS query string (name=value pairs, URL-encoded)')
    .superRefine((query, ctx) => {
      const names = query.split('&').map((pair) => pair.slice(0, pair.indexOf('=')));
      if (withSignature && !names.includes('sig')) ctx.addIssue({ code: 'custom', message: 'has no sig' });
      if (!withSignature && names.includes('sig')) {
        ctx.addIssue({
          code: 'custom',
          message: 'must not carry a sig (each delta has its own in signatures)',
        });
      }
      if (!query.split('&').includes('sr=b')) {
        ctx.addIssue({ code: 'custom', message: 'must be a blob SAS (sr=b)' });
      }
    });
}

/**
 * The agent's credentials for the cache (shared/cacheSas.ts issues them): one blob SAS per name,
 * never a container SAS. The status blob gets `cw` (it is rewritten); deltas get `c` (create only)
 * for one generation and a window of sequence numbers, one signature each, the rest of the query
 * being the same for all of them.
 */
const cacheCredentialsSchema = z.object({
  /** The cache container's URL, without a query. */
  containerUrl: z.url({ protocol: /^https?$/ }).refine((u) => !u.includes('?') && !u.includes('#'), {
    message: 'must have no query or fragment (the SAS is apart)',
  }),
  /** The SAS query (with its sig) for `{rg}/{vm}/agent.json`: create and write. */
  statusSas: sasQuery(true),
  /** Delta `firstSequence + i` of `generation` is created with `query&sig=signatures[i]`. */
  deltaSas: z.object({
    generation: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    firstSequence: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    /** sv, st, se, sr=b, sp=c, spr: every parameter but sig, the same for each delta. */
    query: sasQuery(false),
    signatures: z
      .array(z.string().regex(SIGNATURE, 'must be a base64 HMAC-SHA256 signature (44 characters)'))
      .min(1)
      .max(MAX_DELTA_SAS_WINDOW),
  }),
});

const agentConfigSchema = z
  .object({
    version: z.literal(AGENT_CONFIG_VERSION),
    vmId: z.string().superRefine((value, ctx) => {
      const problem = vmIdProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: `VM id ${problem}` });
    }),
    /** Replication generation; a new one (after a resync) restarts sequence numbers at 1. */
    generation: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    /** Per-blob SAS for the agent's status and its next deltas (shared/cacheSas.ts). */
    cache: cacheCredentialsSchema,
    flushIntervalMs: z.number().int().min(10).max(3_600_000).default(1000),
    maxDeltaBytes: z
      .number()
      .int()
      .min(MiB)
      .max(64 * MiB)
      .default(8 * MiB),
    heartbeatIntervalMs: z.number().int().min(100).max(3_600_000).default(30_000),
    maxBufferBytes: z
      .number()
      .int()
      .min(MiB)
      .max(16 * 1024 * MiB)
      .default(64 * MiB),
    /** A counter: each increase asks the agent for an app-consistent bookmark. */
    appConsistentRequest: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .superRefine((config, ctx) => {
    const window = config.cache.deltaSas;
    if (window.generation !== config.generation) {
      ctx.addIssue({
        code: 'custom',
        path: ['cache', 'deltaSas', 'generation'],
        message: `is ${window.generation}, not the config's generation ${config.generation}`,
      });
    }
    if (window.firstSequence + window.signatures.length - 1 > Number.MAX_SAFE_INTEGER) {
      ctx.addIssue({ code: 'custom', path: ['cache', 'deltaSas'], message: 'ends past 2^53 - 1' });
    }
  });

/** The config as the agent uses it (defaults filled in). */
export type AgentReplicationConfig = z.output<typeof agentConfigSchema>;
/** The config as a writer may give it (defaults optional). */
export type AgentReplicationConfigInput = z.input<typeof agentConfigSchema>;

/** The config's `cache` section: what the agent may write to the cache, and where. */
export type AgentCacheCredentials = AgentReplicationConfig['cache'];
/** The delta part of it: one generation, a window of sequence numbers, one signature each. */
export type DeltaSasWindow = AgentCacheCredentials['deltaSas'];

export type AgentConfigParse = { ok: true; config: AgentReplicationConfig } | { ok: false; problem: string };

/** `{rg}/{vm}.json`, in the `CONTAINERS.agentConfig` container of the source storage account. */
/**
 * `{rg}/{vm}/retired-generation.json` in the agent-config container: the last generation of a VM
 * whose replication was disabled, so enabling it again takes a higher one (the agent keeps sequence
 * numbers per generation). A VM name has no `/`, so no agent config can have this name.
 */
export function retiredGenerationBlobName(resourceGroup: string, vm: string): string {
  return `${agentConfigBlobName(resourceGroup, vm).replace(/\.json$/, '')}/retired-generation.json`;
}

export function agentConfigBlobName(resourceGroup: string, vm: string): string {
  const problem = vmIdProblem(`${resourceGroup}/${vm}`);
  if (problem) {
    throw new TidemarkError('InvalidArgument', `VM ${resourceGroup}/${vm} ${problem}.`, {
      details: { resourceGroup, vm },
    });
  }
  return `${resourceGroup}/${vm}.json`;
}

/** Validates a parsed config; a failure says which fields are wrong and why. */
export function parseAgentConfig(value: unknown): AgentConfigParse {
  const version =
    typeof value === 'object' && value !== null ? (value as { version?: unknown }).version : undefined;
  if (version === 1) {
    return {
      ok: false,
      problem:
        'version: config version 1 (a SAS for the whole cache container) is no longer accepted; this agent needs ' +
        `version ${AGENT_CONFIG_VERSION} (a SAS per blob): re-run enable replication for the VM to rewrite its config`,
    };
  }
  const result = agentConfigSchema.safeParse(value);
  if (result.success) return { ok: true, config: result.data };
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  return { ok: false, problem: problems.join('; ') };
}

/** Validates and writes (overwrites) a VM's agent config. */
export async function writeAgentConfig(
  container: ContainerClient,
  config: AgentReplicationConfigInput,
): Promise<AgentReplicationConfig> {
  const parsed = parseAgentConfig(config);
  if (!parsed.ok) {
    throw new TidemarkError('InvalidArgument', `Agent replication config is invalid: ${parsed.problem}`);
  }
  const [resourceGroup, vm] = parsed.config.vmId.split('/') as [string, string];
  const body = agentConfigBody(parsed.config);
  const blob = container.getBlockBlobClient(agentConfigBlobName(resourceGroup, vm));
  const upload = (): Promise<unknown> =>
    blob.uploadData(body, { blobHTTPHeaders: { blobContentType: 'application/json' } });
  await withContainer(container, upload);
  return parsed.config;
}

/**
 * A config blob's bytes: compact JSON (a delta window is hundreds of signatures). Larger than the
 * agent reads is InvalidArgument, so no writer can leave a config its agent would refuse unread.
 */
export function agentConfigBody(config: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(config));
  if (body.length > MAX_CONFIG_BYTES) {
    throw new TidemarkError(
      'InvalidArgument',
      `The agent config would be ${body.length} bytes; its agent reads at most ${MAX_CONFIG_BYTES}.`,
      { hint: `Issue fewer delta signatures at once (at most ${MAX_DELTA_SAS_WINDOW}).` },
    );
  }
  return body;
}

/** Deletes a VM's agent config (its agent stops replicating); false when there was none. */
export async function deleteAgentConfig(
  container: ContainerClient,
  resourceGroup: string,
  vm: string,
): Promise<boolean> {
  const result = await container.getBlobClient(agentConfigBlobName(resourceGroup, vm)).deleteIfExists();
  return result.succeeded;
}

async function generationIn(container: ContainerClient, name: string): Promise<number> {
  try {
    const value = JSON.parse((await container.getBlobClient(name).downloadToBuffer()).toString('utf8')) as {
      generation?: unknown;
    };
    const g = value.generation;
    return typeof g === 'number' && Number.isSafeInteger(g) ? g : 0;
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) return 0;
    if (err instanceof SyntaxError) return 0;
    throw err;
  }
}

/** The newest generation the VM's agent was given: in its config or its tombstone; 0 when none. */
export async function lastAgentGeneration(
  container: ContainerClient,
  resourceGroup: string,
  vm: string,
): Promise<number> {
  const [current, retired] = await Promise.all([
    generationIn(container, agentConfigBlobName(resourceGroup, vm)),
    generationIn(container, retiredGenerationBlobName(resourceGroup, vm)),
  ]);
  return Math.max(current, retired);
}

/**
 * Stops a VM's replication at its agent (commit, disable): the highest generation it had (its config,
 * an older tombstone, or `generation`) goes into the tombstone first, then the config is deleted, so
 * replicating the VM again starts a generation above every one its agent numbered deltas in.
 * Idempotent. Returns whether a config was deleted.
 */
export async function retireAgentConfig(
  container: ContainerClient,
  resourceGroup: string,
  vm: string,
  options: { generation: number; jobId?: string },
): Promise<boolean> {
  const generation = Math.max(options.generation, await lastAgentGeneration(container, resourceGroup, vm));
  await container.createIfNotExists();
  const body = JSON.stringify({
    vmId: `${resourceGroup}/${vm}`,
    generation,
    ...(options.jobId ? { job: options.jobId } : {}),
  });
  await container
    .getBlockBlobClient(retiredGenerationBlobName(resourceGroup, vm))
    .upload(body, Buffer.byteLength(body), {
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
  return deleteAgentConfig(container, resourceGroup, vm);
}

/**
 * Asks a VM's agent for an app-consistent bookmark: increments `appConsistentRequest` in its config
 * with an ETag-conditional read-modify-write (retried when the config changed meanwhile), keeping
 * every other field as it is. Returns the new value. NotFound when replication is not enabled.
 */
export async function bumpAppConsistentRequest(
  container: ContainerClient,
  resourceGroup: string,
  vm: string,
  { maxAttempts = 5 }: { maxAttempts?: number } = {},
): Promise<number> {
  const vmId = `${resourceGroup}/${vm}`;
  const blob = container.getBlockBlobClient(agentConfigBlobName(resourceGroup, vm));
  const notEnabled = (): TidemarkError =>
    new TidemarkError('NotFound', `replication is not enabled for ${vmId}`, {
      hint: 'Enable replication for the VM first; its agent config holds the bookmark counter.',
      details: { resourceGroup, vm },
    });
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    let read: ConfigForUpdate | undefined;
    try {
      read = await readConfigForUpdate(blob);
    } catch (err) {
      if (err instanceof SyntaxError) throw invalidConfig(vmId, `not JSON: ${err.message}`);
      throw err;
    }
    if (!read) throw notEnabled();
    const { etag, raw } = read;
    const parsed = parseAgentConfig(raw);
    if (!parsed.ok) throw invalidConfig(vmId, parsed.problem);
    if (parsed.config.vmId !== vmId) throw invalidConfig(vmId, `vmId is ${parsed.config.vmId}`);
    const next = (parsed.config.appConsistentRequest ?? 0) + 1;
    const body = agentConfigBody({ ...raw, appConsistentRequest: next });
    try {
      await blob.uploadData(body, {
        conditions: { ifMatch: etag },
        blobHTTPHeaders: { blobContentType: 'application/json' },
      });
      return next;
    } catch (err) {
      // 412: changed since we read it; 404: deleted meanwhile (the next read says so).
      if (!(err instanceof RestError && (err.statusCode === 412 || err.statusCode === 404))) throw err;
    }
  }
  throw new TidemarkError('Conflict', `The agent config of ${vmId} kept changing; no bookmark requested.`, {
    hint: 'Try again.',
    retryable: true,
  });
}

/** A config blob's JSON as written (unknown fields kept) and the ETag to rewrite it under. */
export interface ConfigForUpdate {
  etag: string;
  raw: Record<string, unknown>;
}

/**
 * Reads a config blob for an ETag-conditional read-modify-write: undefined when there is none, a
 * SyntaxError when it is not JSON (the caller says what that means for it).
 */
export async function readConfigForUpdate(blob: BlockBlobClient): Promise<ConfigForUpdate | undefined> {
  try {
    const response = await blob.download();
    const chunks: Buffer[] = [];
    for await (const chunk of response.readableStreamBody ?? []) chunks.push(Buffer.from(chunk as Buffer));
    return {
      etag: response.etag!,
      raw: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
    };
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) return undefined;
    throw err;
  }
}

function invalidConfig(vmId: string, problem: string): TidemarkError {
  return new TidemarkError('InvalidConfig', `The agent config of ${vmId} is invalid (${problem}).`, {
    hint: 'Its agent ignores it; re-enable replication to rewrite it, then ask for the bookmark again.',
  });
}

/** Runs `op`, creating the container and retrying once when it does not exist yet. */
async function withContainer<T>(container: ContainerClient, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (!(err instanceof RestError && err.code === 'ContainerNotFound')) throw err;
    await container.createIfNotExists();
    return op();
  }
}

export type AgentHealth = 'Healthy' | 'Degraded' | 'Unreachable' | 'NotReplicating' | 'Stopped';

/** What the agent reports in the cache, every status interval and on any change. Times are ISO. */
export interface AgentStatus {
  vmId: string;
  /** The generation being shipped; null while not replicating. */
  generation: number | null;
  health: AgentHealth;
  /** Highest sequence number known to be in the cache (0: none yet in this generation). */
  lastSequence: number;
  lastUploadAt: string | null;
  /** The source's writes are in the cache up to this time (newest write or heartbeat shipped). */
  coveredUntil: string | null;
  queuedBytes: number;
  heldBytes: number;
  waitingWriters: number;
  /** Set when replicas may miss writes of this generation: start a resync (a new generation). */
  resyncReason?: string;
  /** Why the config blob was rejected; the agent keeps its previous state meanwhile. */
  configError?: string;
  /** The last agent-side failure (config unreadable, sequence state unwritable), if not resolved. */
  error?: string;
  /** Where the disks are served: TCP host and port, or (port 0) a unix socket at socketPath. */
  nbd: { host: string; port: number; socketPath?: string; exports: string[] };
  updatedAt: string;
}

/** `{rg}/{vm}/agent.json`, in the cache container (CONTAINERS.cache). */
export function agentStatusBlobName(resourceGroup: string, vm: string): string {
  return `${agentConfigBlobName(resourceGroup, vm).slice(0, -'.json'.length)}/agent.json`;
}
