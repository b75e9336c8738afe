/** Builds the applier's storage seams from tidemark's settings (cache in the source region, the rest in the target). */
import { BlobServiceClient } from '@azure/storage-blob';

import type { TidemarkConfig } from '../config';
import { TidemarkError } from '../errors';
import { TableProtectedItemStore } from '../protectedItems';
import { CONTAINERS } from '../storageNames';
import type { ApplierStores } from './applier';

export function applierStores(config: TidemarkConfig): ApplierStores {
  const source = config.source.connectionString;
  const target = config.target.connectionString;
  if (!source || !target) {
    throw new TidemarkError(
      'InvalidConfig',
      'The applier needs both TIDEMARK_SOURCE_STORAGE and TIDEMARK_TARGET_STORAGE (or AzureWebJobsStorage).',
      {
        hint: 'Set them to the source (cache) and target storage connection strings.',
      },
    );
  }
  const cache = BlobServiceClient.fromConnectionString(source);
  const tgt = BlobServiceClient.fromConnectionString(target);
  return {
    cache: cache.getContainerClient(CONTAINERS.cache),
    replicas: tgt.getContainerClient(CONTAINERS.replicas),
    journal: tgt.getContainerClient(CONTAINERS.journal),
    quarantine: tgt.getContainerClient(CONTAINERS.quarantine),
    locks: tgt.getContainerClient(CONTAINERS.locks),
    items: TableProtectedItemStore.fromConnectionString(target),
  };
}
