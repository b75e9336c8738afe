/**
 * The agent's credentials for the cache (the `cache` section of its config, shared/agentConfig.ts):
 * blob SAS only (`sr=b`), each signed for one exact blob name, so the agent can write nothing but
 * its own status blob and its own next deltas.
 *
 * - Status `{rg}/{vm}/agent.json`: `cw` (the agent rewrites it).
 * - Deltas `{rg}/{vm}/{generation}/{seq}.delta`: `c` only (create: an existing delta can't be
 *   overwritten; nothing can be read, listed or deleted), for a window of sequence numbers
 *   `firstSequence …` of one generation, like pre-signed upload URLs. Every parameter of those
 *   signatures but `sig` is the same (the blob name is signed, not sent), so the config keeps the
 *   shared query once and one 44-character signature per sequence number: 512 cost about 25 KiB.
 *
 * The control plane issues the first window when it writes the config (enable replication,
 * reprotect) and tops it up as the agent uses it (shared/replication/cacheCredentials.ts). HTTPS
 * only when the account speaks HTTPS (Azurite: http only).
 */
import {
  BlobSASPermissions,
  BlobServiceClient,
  generateBlobSASQueryParameters,
  SASProtocol,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';

import {
  type AgentCacheCredentials,
  agentStatusBlobName,
  type DeltaSasWindow,
  MAX_DELTA_SAS_WINDOW,
} from './agentConfig';
import { deltaBlobName } from './delta';
import { TidemarkError } from './errors';
import { CONTAINERS } from './storageNames';

export const STATUS_SAS_PERMISSIONS = 'cw';
export const DELTA_SAS_PERMISSIONS = 'c';

export interface CacheCredentialRequest {
  resourceGroup: string;
  vm: string;
  generation: number;
  /** The first sequence number the window covers (≥ 1). */
  firstSequence: number;
  /** How many sequence numbers it covers (1 … MAX_DELTA_SAS_WINDOW). */
  window: number;
  startsOn: Date;
  expiresOn: Date;
  /** The cache container; CONTAINERS.cache unless a test says otherwise. */
  container?: string;
}

/** Signs the agent's status SAS and a window of delta SAS with the cache account's key. */
export function issueAgentCacheCredentials(
  cacheConnectionString: string,
  request: CacheCredentialRequest,
): AgentCacheCredentials {
  const { resourceGroup, vm, generation, firstSequence, window } = request;
  if (!Number.isSafeInteger(firstSequence) || firstSequence < 1) {
    throw new TidemarkError(
      'InvalidArgument',
      `A delta SAS window starts at sequence 1 or later, not ${firstSequence}.`,
    );
  }
  if (!Number.isSafeInteger(window) || window < 1 || window > MAX_DELTA_SAS_WINDOW) {
    throw new TidemarkError(
      'InvalidArgument',
      `A delta SAS window covers 1 to ${MAX_DELTA_SAS_WINDOW} sequence numbers, not ${window}.`,
    );
  }
  const service = BlobServiceClient.fromConnectionString(cacheConnectionString);
  const credential = service.credential;
  if (!(credential instanceof StorageSharedKeyCredential)) {
    throw new TidemarkError(
      'InvalidConfig',
      'The cache storage connection has no account key, so tidemark cannot issue the agent a SAS.',
      { hint: 'Use a connection string with AccountName and AccountKey for the cache storage account.' },
    );
  }
  const containerName = request.container ?? CONTAINERS.cache;
  const containerUrl = service.getContainerClient(containerName).url;
  const sign = (blobName: string, permissions: string): string =>
    generateBlobSASQueryParameters(
      {
        containerName,
        blobName,
        permissions: BlobSASPermissions.parse(permissions),
        startsOn: request.startsOn,
        expiresOn: request.expiresOn,
        // A stolen URL must not work in clear text where the account offers TLS.
        protocol: containerUrl.startsWith('https:') ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
      },
      credential,
    ).toString();

  const statusSas = sign(agentStatusBlobName(resourceGroup, vm), STATUS_SAS_PERMISSIONS);
  let query: string | undefined;
  const signatures: string[] = [];
  for (let i = 0; i < window; i++) {
    const name = deltaBlobName({ resourceGroup, vm, generation, sequence: firstSequence + i });
    const split = splitSignature(sign(name, DELTA_SAS_PERMISSIONS));
    query ??= split.query;
    // The signed name is not in the query, so the rest must not vary; if the SDK ever put
    // something per-blob in it, one shared query would be wrong for every other delta.
    if (split.query !== query) {
      throw new TidemarkError('Internal', 'Delta SAS queries differ by more than their signature.', {
        details: { first: query, other: split.query },
      });
    }
    signatures.push(split.signature);
  }
  return {
    containerUrl,
    statusSas,
    deltaSas: { generation, firstSequence, query: query!, signatures },
  };
}

/** A SAS query without its `sig`, and the signature (URL-decoded). */
export function splitSignature(sasQuery: string): { query: string; signature: string } {
  const pairs = sasQuery.split('&');
  const sig = pairs.find((p) => p.startsWith('sig='));
  if (sig === undefined) throw new TidemarkError('Internal', 'A SAS without a signature.');
  return {
    query: pairs.filter((p) => p !== sig).join('&'),
    signature: decodeURIComponent(sig.slice('sig='.length)),
  };
}

/** The last sequence number the window covers. */
export function lastSequenceIn(window: DeltaSasWindow): number {
  return window.firstSequence + window.signatures.length - 1;
}

/** The full SAS query for delta `sequence` of `generation`; undefined when the window lacks it. */
export function deltaSasQuery(
  window: DeltaSasWindow,
  generation: number,
  sequence: number,
): string | undefined {
  if (generation !== window.generation) return undefined;
  const signature = window.signatures[sequence - window.firstSequence];
  if (signature === undefined) return undefined;
  return `${window.query}&sig=${encodeURIComponent(signature)}`;
}

/** When a SAS query stops working (its `se`), in ms since the epoch; undefined when it has none. */
export function sasExpiresAt(query: string): number | undefined {
  const se = new URLSearchParams(query).get('se');
  if (se === null) return undefined;
  const at = Date.parse(se);
  return Number.isFinite(at) ? at : undefined;
}

export interface WindowCheck {
  window: DeltaSasWindow;
  /** The highest sequence number known to be used (shipped or applied; 0: none). */
  lastUsed: number;
  now: number;
  /** The window size the control plane issues. */
  size: number;
  /** Renew when the SAS expires within this long. */
  renewBeforeMs: number;
}

/**
 * Why the agent needs a new window, or undefined when the one it has will do: fewer than half of
 * `size` sequence numbers left after `lastUsed`, the next one not covered at all, or the SAS
 * expiring within `renewBeforeMs`.
 */
export function windowRenewalReason({
  window,
  lastUsed,
  now,
  size,
  renewBeforeMs,
}: WindowCheck): 'used' | 'behind' | 'expiring' | undefined {
  const next = lastUsed + 1;
  if (next < window.firstSequence) return 'behind';
  if ((lastSequenceIn(window) - lastUsed) * 2 < size) return 'used';
  const expiresAt = sasExpiresAt(window.query);
  if (expiresAt === undefined || expiresAt - now < renewBeforeMs) return 'expiring';
  return undefined;
}
