/**
 * The BlobTriggerMessage the real host queues for each detected blob version (SDKNET
 * `BlobTriggerMessage.cs`), the host queue names (HostQueueNames) and small storage helpers.
 * Messages are base64-encoded JSON, like every queue message the Functions host writes with the
 * default `messageEncoding`, so a queue-triggered function can read `webjobs-blobtrigger-poison`.
 */
export interface BlobTriggerMessage {
  Type: 'BlobTrigger';
  FunctionId: string;
  BlobType: 'BlockBlob' | 'PageBlob' | 'AppendBlob';
  ContainerName: string;
  BlobName: string;
  ETag: string;
}

export const POISON_QUEUE = 'webjobs-blobtrigger-poison';
export const HOSTS_CONTAINER = 'azure-webjobs-hosts';

/** The id the real script host gives a function, used in receipts, messages and the webhook. */
export function functionIdFor(name: string): string {
  return `Host.Functions.${name}`;
}

/** `azure-webjobs-blobtrigger-{hostId}`, kept within queue-name rules (no `--`, ≤ 63 chars). */
export function hostQueueName(hostId: string): string {
  const id = hostId
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  return `azure-webjobs-blobtrigger-${id}`.slice(0, 63).replace(/-$/, '');
}

/** ETags as the host prints them: quoted (`"0x8D…"`). Listings return them bare, headers quoted. */
export function normalizeETag(etag: string | undefined): string {
  const bare = String(etag ?? '')
    .replace(/^W\//, '')
    .replace(/^"|"$/g, '');
  return `"${bare}"`;
}

export function toBlobType(type: string | undefined): BlobTriggerMessage['BlobType'] {
  if (type === 'PageBlob' || type === 'AppendBlob') return type;
  return 'BlockBlob';
}

export function encodeMessage(message: BlobTriggerMessage): string {
  return Buffer.from(JSON.stringify(message), 'utf8').toString('base64');
}

/** Reads a message written base64-encoded (ours, the real host's) or as plain JSON. */
export function decodeMessage(text: string): BlobTriggerMessage | undefined {
  const trimmed = text.trim();
  const json = trimmed.startsWith('{') ? trimmed : Buffer.from(trimmed, 'base64').toString('utf8');
  try {
    const value = JSON.parse(json) as Partial<BlobTriggerMessage>;
    if (
      typeof value === 'object' &&
      value !== null &&
      typeof value.FunctionId === 'string' &&
      typeof value.ContainerName === 'string' &&
      typeof value.BlobName === 'string' &&
      typeof value.ETag === 'string'
    ) {
      return {
        Type: 'BlobTrigger',
        FunctionId: value.FunctionId,
        BlobType: toBlobType(value.BlobType),
        ContainerName: value.ContainerName,
        BlobName: value.BlobName,
        ETag: normalizeETag(value.ETag),
      };
    }
  } catch {
    // not JSON: reported by the caller
  }
  return undefined;
}

/** HTTP status and service error code of a failed storage call. */
export function storageError(err: unknown): { status?: number; code?: string } {
  const e = err as { statusCode?: number; code?: string; details?: { errorCode?: string } };
  return { status: e?.statusCode, code: e?.details?.errorCode ?? e?.code };
}
