/**
 * Where the agent ships deltas: the cache container in the source region. The agent holds only the
 * credentials of its config's `cache` section (shared/cacheSas.ts): a blob SAS for its status blob
 * and one create-only blob SAS per delta sequence number of a window. It never reads or lists; a
 * delta is created with If-None-Match: * and can't be overwritten anyway.
 *
 * A delta outside the window (the agent is ahead of what the control plane has issued) or refused by
 * the cache (expired, revoked) fails with `CacheCredentialsError`: the shipper keeps the delta and
 * retries it with the same number once the config brings new credentials, exactly as when the cache
 * is unreachable, so nothing is skipped.
 */
import {
  AnonymousCredential,
  BlockBlobClient,
  newPipeline,
  type Pipeline,
  RestError,
} from '@azure/storage-blob';

import type { AgentCacheCredentials } from '../shared/agentConfig';
import { deltaSasQuery, lastSequenceIn } from '../shared/cacheSas';
import { parseDeltaBlobName } from '../shared/delta';
import { TidemarkError } from '../shared/errors';

export type PutResult = 'created' | 'exists';

export interface DeltaSink {
  /** Creates the blob unless one of that name exists. */
  putDelta(name: string, body: Buffer, metadata: Record<string, string>): Promise<PutResult>;
  /** Writes (overwrites) a small JSON document, e.g. the agent's status. */
  putJson(name: string, value: unknown): Promise<void>;
}

/** Why an upload can't be made with the credentials at hand: `pending` (none yet) or `refused`. */
export class CacheCredentialsError extends TidemarkError {
  constructor(
    readonly reason: 'pending' | 'refused',
    message: string,
    options: { sequence?: number; cause?: unknown } = {},
  ) {
    super('Unauthorized', message, {
      retryable: true,
      hint:
        reason === 'pending'
          ? 'The control plane issues more delta credentials as the agent uses them (the sweep timer, every 30 s); writes are held meanwhile.'
          : 'The credentials expired or were revoked; the agent reads its config again. Re-run enable replication if it lasts.',
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      details: { reason, ...(options.sequence === undefined ? {} : { sequence: options.sequence }) },
    });
    this.name = 'CacheCredentialsError';
  }
}

export function isCacheCredentialsError(err: unknown): err is CacheCredentialsError {
  return err instanceof CacheCredentialsError;
}

/**
 * A 403 whose error code says the SAS was valid but does not allow the operation: for a create-only
 * SAS signed for exactly this blob, that is a create over an existing blob (Azurite answers a
 * create-only Put Blob over an existing blob so; Azure answers either this or 409).
 */
function isPermissionMismatch(err: RestError): boolean {
  return err.statusCode === 403 && err.code === 'AuthorizationPermissionMismatch';
}

export class BlobDeltaSink implements DeltaSink {
  readonly #pipeline: Pipeline;

  constructor(
    private readonly credentials: AgentCacheCredentials,
    options: { pipeline?: Pipeline } = {},
  ) {
    this.#pipeline =
      options.pipeline ?? newPipeline(new AnonymousCredential(), { retryOptions: { maxTries: 1 } });
  }

  async putDelta(name: string, body: Buffer, metadata: Record<string, string>): Promise<PutResult> {
    const { generation, sequence } = parseDeltaBlobName(name);
    const window = this.credentials.deltaSas;
    // A window starts right after the last number the control plane saw shipped or applied, so a
    // number below it (one a crash left unconfirmed, filled again at start) is in the cache already,
    // or was applied: as for any delta already there, the one in the cache is kept.
    if (generation === window.generation && sequence < window.firstSequence) return 'exists';
    const sas = deltaSasQuery(window, generation, sequence);
    if (sas === undefined) {
      throw new CacheCredentialsError(
        'pending',
        `No cache credential for delta ${sequence} of generation ${generation} yet (the config covers ${window.firstSequence}–${lastSequenceIn(window)} of generation ${window.generation})`,
        { sequence },
      );
    }
    try {
      await this.#blob(name, sas).uploadData(body, {
        metadata,
        conditions: { ifNoneMatch: '*' },
        blobHTTPHeaders: { blobContentType: 'application/vnd.tidemark.delta' },
      });
      return 'created';
    } catch (err) {
      if (err instanceof RestError) {
        if (err.statusCode === 409 || err.code === 'BlobAlreadyExists' || isPermissionMismatch(err))
          return 'exists';
        if (err.statusCode === 403) {
          throw new CacheCredentialsError(
            'refused',
            `The cache refused the credential for delta ${sequence} (${err.code ?? 403})`,
            { sequence, cause: err },
          );
        }
      }
      throw err;
    }
  }

  async putJson(name: string, value: unknown): Promise<void> {
    const body = Buffer.from(JSON.stringify(value));
    await this.#blob(name, this.credentials.statusSas).uploadData(body, {
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
  }

  #blob(name: string, sas: string): BlockBlobClient {
    const path = name.split('/').map(encodeURIComponent).join('/');
    return new BlockBlobClient(`${this.credentials.containerUrl}/${path}?${sas}`, this.#pipeline);
  }
}
