/** The storage clients enable-replication's activities use, built once from the app settings. */
import { BlobServiceClient } from '@azure/storage-blob';

import { loadConfig, type TidemarkConfig } from '../../shared/config';
import { TidemarkError } from '../../shared/errors';
import { type FabricServices, fabricServices } from '../../shared/fabric/services';
import type { ProtectedItemStore } from '../../shared/protectedItems';

export interface EnableServices extends FabricServices {
  config: TidemarkConfig;
  items: ProtectedItemStore;
  sourceConnectionString: string;
  source: BlobServiceClient;
  target: BlobServiceClient;
}

let services: EnableServices | undefined;

export function enableServices(): EnableServices {
  if (services) return services;
  const config = loadConfig();
  const source = config.source.connectionString;
  const target = config.target.connectionString;
  if (!source || !target) {
    throw new TidemarkError('InvalidConfig', 'Enabling replication needs the source and target storage.', {
      hint: 'Set TIDEMARK_SOURCE_STORAGE and TIDEMARK_TARGET_STORAGE (or AzureWebJobsStorage).',
    });
  }
  const fabric = fabricServices(config);
  services = {
    ...fabric,
    config,
    items: fabric.protectedItems!,
    sourceConnectionString: source,
    source: BlobServiceClient.fromConnectionString(source),
    target: BlobServiceClient.fromConnectionString(target),
  };
  return services;
}
