/**
 * The credential an agent gets for the cache: a container SAS that can create and write blobs but
 * not read, list or delete them, over HTTPS only when the account speaks HTTPS. (A SAS can't be
 * scoped to a name prefix in a flat-namespace account; the applier therefore checks that every
 * delta's VM id and generation match its name. `w` is there for the agent's status blob, which it
 * rewrites; README "Security" weighs it.)
 */
import {
  BlobSASPermissions,
  BlobServiceClient,
  generateBlobSASQueryParameters,
  SASProtocol,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';

import { TidemarkError } from './errors';

export function agentCacheSasUrl(
  connectionString: string,
  container: string,
  options: { startsOn: Date; expiresOn: Date },
): string {
  const service = BlobServiceClient.fromConnectionString(connectionString);
  const credential = service.credential;
  if (!(credential instanceof StorageSharedKeyCredential)) {
    throw new TidemarkError(
      'InvalidConfig',
      'The cache storage connection has no account key, so tidemark cannot issue the agent a SAS.',
      { hint: 'Use a connection string with AccountName and AccountKey for the cache storage account.' },
    );
  }
  const url = service.getContainerClient(container).url;
  const sas = generateBlobSASQueryParameters(
    {
      containerName: container,
      permissions: BlobSASPermissions.parse('cw'),
      startsOn: options.startsOn,
      expiresOn: options.expiresOn,
      // A stolen URL must not work in clear text where the account offers TLS (Azurite: http only).
      protocol: url.startsWith('https:') ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
    },
    credential,
  ).toString();
  return `${url}?${sas}`;
}
