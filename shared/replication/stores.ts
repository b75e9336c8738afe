/** Builds the applier's storage seams from tidemark's settings (cache in the source region, the rest in the target). */
import {
  BlobServiceClient,
  ContainerClient,
  type ContainerCreateIfNotExistsResponse,
  type ContainerCreateOptions,
} from '@azure/storage-blob';

import type { TidemarkConfig } from '../config';
import { TidemarkError } from '../errors';
import { TableProtectedItemStore } from '../protectedItems';
import { CONTAINERS } from '../storageNames';
import type { ApplierStores } from './applier';

/**
 * A container the applier writes, whose createIfNotExists goes to storage until it once succeeded
 * and then answers from memory. The app builds a DeltaApplier per invocation (its logger is the
 * invocation's), and each new applier makes sure of its containers once; the stores are built once
 * per config (buildApplier), so with these that is once per process, not three calls per delta.
 */
class CreatedOnceContainer extends ContainerClient {
  #created?: Promise<ContainerCreateIfNotExistsResponse>;

  override createIfNotExists(options?: ContainerCreateOptions): Promise<ContainerCreateIfNotExistsResponse> {
    return (this.#created ??= super.createIfNotExists(options).catch((err: unknown) => {
      this.#created = undefined;
      throw err;
    }));
  }
}

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
    journal: new CreatedOnceContainer(target, CONTAINERS.journal),
    quarantine: new CreatedOnceContainer(target, CONTAINERS.quarantine),
    locks: new CreatedOnceContainer(target, CONTAINERS.locks),
    items: TableProtectedItemStore.fromConnectionString(target),
  };
}
