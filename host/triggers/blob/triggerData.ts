/**
 * The blob trigger's binding data contract (SDKNET `BlobTriggerBinding.cs`): BlobTrigger
 * ("container/blobName"), Uri, Properties, Metadata and one entry per path placeholder. Sent as
 * triggerMetadata (`{string}` or `{json}`; the library camel-cases the keys, so handlers read
 * `context.triggerMetadata.properties.eTag`) and kept as binding data for `{name}` expressions in
 * input and output bindings.
 */
import type { RpcTypedData } from '../../core/rpcTypes';

/** What a blob download (or properties call) tells about a blob. */
export interface BlobFacts {
  contentLength?: number;
  contentType?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  contentDisposition?: string;
  cacheControl?: string;
  contentMD5?: Uint8Array;
  etag?: string;
  lastModified?: Date;
  createdOn?: Date;
  blobType?: string;
  leaseState?: string;
  leaseStatus?: string;
  leaseDuration?: string;
  accessTier?: string;
  isServerEncrypted?: boolean;
  versionId?: string;
  metadata?: Record<string, string>;
}

export interface BlobTriggerData {
  triggerMetadata: Record<string, RpcTypedData>;
  bindingData: Record<string, unknown>;
}

/** Properties as the host serialises BlobProperties: both `Length` (classic) and `ContentLength`. */
export function blobProperties(facts: BlobFacts, etag: string): Record<string, unknown> {
  const iso = (d: Date | undefined): string | undefined => (d ? d.toISOString() : undefined);
  return {
    Length: facts.contentLength,
    ContentLength: facts.contentLength,
    ContentType: facts.contentType,
    ContentEncoding: facts.contentEncoding,
    ContentLanguage: facts.contentLanguage,
    ContentDisposition: facts.contentDisposition,
    CacheControl: facts.cacheControl,
    ContentMD5: facts.contentMD5 ? Buffer.from(facts.contentMD5).toString('base64') : undefined,
    ETag: etag,
    LastModified: iso(facts.lastModified),
    CreatedOn: iso(facts.createdOn),
    BlobType: facts.blobType ?? 'BlockBlob',
    LeaseState: facts.leaseState,
    LeaseStatus: facts.leaseStatus,
    LeaseDuration: facts.leaseDuration,
    AccessTier: facts.accessTier,
    IsServerEncrypted: facts.isServerEncrypted,
    VersionId: facts.versionId,
    Metadata: facts.metadata ?? {},
  };
}

export function blobTriggerData(
  container: string,
  blobName: string,
  uri: string,
  etag: string,
  facts: BlobFacts,
  params: Record<string, string>,
): BlobTriggerData {
  const properties = blobProperties(facts, etag);
  const metadata = facts.metadata ?? {};
  const bindingData: Record<string, unknown> = {
    ...params,
    BlobTrigger: `${container}/${blobName}`,
    Uri: uri,
    Properties: properties,
    Metadata: metadata,
  };
  const triggerMetadata: Record<string, RpcTypedData> = {
    BlobTrigger: { string: `${container}/${blobName}` },
    Uri: { string: uri },
    Properties: { json: JSON.stringify(properties) },
    Metadata: { json: JSON.stringify(metadata) },
  };
  for (const [name, value] of Object.entries(params)) triggerMetadata[name] = { string: value };
  return { triggerMetadata, bindingData };
}
