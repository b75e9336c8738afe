/**
 * Storage clients for a storage connection in either of the forms Azure accepts (shared/settings.ts):
 * a connection string, or an identity-based connection (service URIs, or an account name, plus how to
 * sign in). Identity-based connections sign in like the Functions host: `__credential: managedidentity`
 * is the app's managed identity (`__clientId` picks a user-assigned one); `__tenantId` + `__clientId`
 * + `__clientSecret` an app registration; otherwise DefaultAzureCredential (a developer's
 * `az login` locally).
 *
 * tidemark's stores still take connection strings: the agent's cache SAS is signed with the account
 * key, so the region connections must carry it (shared/config.ts). These builders are for clients that
 * can work with an identity alone.
 */
import { TableClient, type TableServiceClientOptions } from '@azure/data-tables';
import {
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import { BlobServiceClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';

import { TidemarkError } from './errors';
import type { IdentityConnection, StorageConnection, StorageService } from './settings';

const credentials = new WeakMap<IdentityConnection, TokenCredential>();

/** The credential an identity-based connection signs in with (one per connection). */
export function credentialFor(connection: IdentityConnection): TokenCredential {
  let credential = credentials.get(connection);
  if (!credential) {
    if (connection.credential === 'managedidentity') {
      credential = connection.clientId
        ? new ManagedIdentityCredential({ clientId: connection.clientId })
        : new ManagedIdentityCredential();
    } else if (connection.tenantId && connection.clientId && connection.clientSecret) {
      credential = new ClientSecretCredential(
        connection.tenantId,
        connection.clientId,
        connection.clientSecret,
      );
    } else {
      credential = connection.clientId
        ? new DefaultAzureCredential({ managedIdentityClientId: connection.clientId })
        : new DefaultAzureCredential();
    }
    credentials.set(connection, credential);
  }
  return credential;
}

function serviceUri(connection: IdentityConnection, service: StorageService): string {
  const uri =
    service === 'blob'
      ? connection.blobServiceUri
      : service === 'queue'
        ? connection.queueServiceUri
        : connection.tableServiceUri;
  if (!uri) {
    throw new TidemarkError(
      'InvalidConfig',
      `The storage connection ${connection.setting} has no ${service} endpoint.`,
      {
        hint: `Set ${connection.setting}__accountName, or ${connection.setting}__${service}ServiceUri.`,
        details: { settings: [connection.setting] },
      },
    );
  }
  return uri;
}

export function blobServiceClient(
  connection: StorageConnection,
  options?: StoragePipelineOptions,
): BlobServiceClient {
  return connection.kind === 'connectionString'
    ? BlobServiceClient.fromConnectionString(connection.connectionString, options)
    : new BlobServiceClient(serviceUri(connection, 'blob'), credentialFor(connection), options);
}

export function queueServiceClient(connection: StorageConnection): QueueServiceClient {
  return connection.kind === 'connectionString'
    ? QueueServiceClient.fromConnectionString(connection.connectionString)
    : new QueueServiceClient(serviceUri(connection, 'queue'), credentialFor(connection));
}

export function tableClient(
  connection: StorageConnection,
  table: string,
  options: TableServiceClientOptions = {},
): TableClient {
  return connection.kind === 'connectionString'
    ? // Azurite (UseDevelopmentStorage=true) answers over http.
      TableClient.fromConnectionString(connection.connectionString, table, {
        allowInsecureConnection: true,
        ...options,
      })
    : new TableClient(serviceUri(connection, 'table'), table, credentialFor(connection), options);
}
