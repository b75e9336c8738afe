/** Builds the recovery points' storage seams from tidemark's settings (all in the target region but agent configs). */
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';

import type { TidemarkConfig } from '../config';
import { TidemarkError } from '../errors';
import { type ProtectedItemStore, TableProtectedItemStore } from '../protectedItems';
import { CONTAINERS } from '../storageNames';
import { type RecoveryPointCatalog, TableRecoveryPointCatalog } from './catalog';

export interface RecoveryPointStores {
  replicas: ContainerClient;
  journal: ContainerClient;
  locks: ContainerClient;
  items: ProtectedItemStore;
  catalog: RecoveryPointCatalog;
  /** Source region: agent configs, where app-consistent bookmarks are requested. */
  agentConfig?: ContainerClient;
}

export function recoveryPointStores(config: TidemarkConfig): RecoveryPointStores {
  const target = config.target.connectionString;
  if (!target) {
    throw new TidemarkError(
      'InvalidConfig',
      'Recovery points need TIDEMARK_TARGET_STORAGE (or AzureWebJobsStorage).',
      { hint: 'Set it to the target storage connection string.' },
    );
  }
  const tgt = BlobServiceClient.fromConnectionString(target);
  const source = config.source.connectionString;
  return {
    replicas: tgt.getContainerClient(CONTAINERS.replicas),
    journal: tgt.getContainerClient(CONTAINERS.journal),
    locks: tgt.getContainerClient(CONTAINERS.locks),
    items: TableProtectedItemStore.fromConnectionString(target),
    catalog: TableRecoveryPointCatalog.fromConnectionString(target),
    agentConfig: source
      ? BlobServiceClient.fromConnectionString(source).getContainerClient(CONTAINERS.agentConfig)
      : undefined,
  };
}
