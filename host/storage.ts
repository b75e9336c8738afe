/**
 * Storage accounts named by binding `connection` settings, as the Functions host resolves them:
 * the setting `<connection>`, else `AzureWebJobs<connection>`, with `AzureWebJobsStorage` when the
 * binding names none. Full connection strings, SAS connection strings and
 * `UseDevelopmentStorage=true` (Azurite's well-known account on 127.0.0.1) are accepted.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { TableServiceClient } from '@azure/data-tables';

import { TidemarkError } from '../shared/errors';
import type { Settings } from './settings';

export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export function developmentConnectionString(
  host = '127.0.0.1',
  ports = { blob: 10000, queue: 10001, table: 10002 },
) {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};` +
    `BlobEndpoint=http://${host}:${ports.blob}/${DEV_ACCOUNT};` +
    `QueueEndpoint=http://${host}:${ports.queue}/${DEV_ACCOUNT};` +
    `TableEndpoint=http://${host}:${ports.table}/${DEV_ACCOUNT};`
  );
}

/** Expands `UseDevelopmentStorage=true[;DevelopmentStorageProxyUri=http://host]` to a full string. */
export function normalizeConnectionString(value: string): string {
  const parts = new Map<string, string>();
  for (const piece of value.split(';')) {
    const i = piece.indexOf('=');
    if (i > 0) parts.set(piece.slice(0, i).trim().toLowerCase(), piece.slice(i + 1).trim());
  }
  if (parts.get('usedevelopmentstorage')?.toLowerCase() === 'true') {
    const proxy = parts.get('developmentstorageproxyuri');
    const host = proxy ? new URL(proxy).hostname : '127.0.0.1';
    return developmentConnectionString(host);
  }
  return value;
}

export interface StorageAccount {
  connectionString: string;
  blob: BlobServiceClient;
  queue: QueueServiceClient;
  table: TableServiceClient;
}

export class StorageAccounts {
  readonly #cache = new Map<string, StorageAccount>();

  constructor(private readonly settings: Settings) {}

  /** The account behind a binding's `connection` (a setting name, possibly empty). */
  get(connection: string | undefined, what = 'binding'): StorageAccount {
    const name = connection && connection.trim() ? connection.trim() : 'AzureWebJobsStorage';
    const value = this.settings.get(name) ?? this.settings.get(`AzureWebJobs${name}`);
    if (!value) {
      throw new TidemarkError(
        'InvalidConfig',
        `The ${what} uses the storage connection "${name}", but no app setting "${name}" is set.`,
        {
          hint: `Set "${name}" to a storage connection string, or to UseDevelopmentStorage=true for Azurite.`,
        },
      );
    }
    return this.forConnectionString(value, name);
  }

  forConnectionString(value: string, name = 'connection'): StorageAccount {
    const connectionString = normalizeConnectionString(value);
    let account = this.#cache.get(connectionString);
    if (!account) {
      try {
        account = {
          connectionString,
          blob: BlobServiceClient.fromConnectionString(connectionString),
          queue: QueueServiceClient.fromConnectionString(connectionString),
          table: TableServiceClient.fromConnectionString(connectionString, { allowInsecureConnection: true }),
        };
      } catch (err) {
        throw new TidemarkError(
          'InvalidConfig',
          `The storage connection "${name}" is not a valid connection string.`,
          {
            cause: err,
            hint: 'Use DefaultEndpointsProtocol=...;AccountName=...;AccountKey=... or UseDevelopmentStorage=true.',
          },
        );
      }
      this.#cache.set(connectionString, account);
    }
    return account;
  }
}
