/**
 * The storage clients and stores workflow activities use, built once per replication direction from
 * the app settings (shared/direction.ts). `config` is the directed one: `config.source` is the region
 * the protected VM runs in, `config.target` the region it replicates and fails over to.
 */
import { BlobServiceClient } from '@azure/storage-blob';

import { loadConfig, type TidemarkConfig } from '../config';
import { type Direction, directionConfig } from '../direction';
import { TidemarkError } from '../errors';
import { type FabricServices, fabricServices } from '../fabric/services';
import { type ProtectedItemStore, TableProtectedItemStore } from '../protectedItems';
import { type RecoveryPointStores, recoveryPointStores } from '../recoveryPoints/stores';

export interface WorkflowServices extends FabricServices {
  direction: Direction;
  /** The settings as configured (forward). */
  baseConfig: TidemarkConfig;
  /** The settings of this direction: source = where the protected VM runs. */
  config: TidemarkConfig;
  /** Protected items of this direction (in its target region). */
  items: ProtectedItemStore;
  points: RecoveryPointStores;
  sourceConnectionString: string;
  targetConnectionString: string;
  source: BlobServiceClient;
  target: BlobServiceClient;
}

const cache = new Map<Direction, WorkflowServices>();

export function workflowServices(direction: Direction = 'forward'): WorkflowServices {
  const cached = cache.get(direction);
  if (cached) return cached;
  const baseConfig = loadConfig();
  const config = directionConfig(baseConfig, direction);
  const source = config.source.connectionString;
  const target = config.target.connectionString;
  if (!source || !target) {
    throw new TidemarkError('InvalidConfig', 'Workflows need the source and target storage.', {
      hint: 'Set TIDEMARK_SOURCE_STORAGE and TIDEMARK_TARGET_STORAGE (or AzureWebJobsStorage).',
    });
  }
  const services: WorkflowServices = {
    ...fabricServices(baseConfig),
    direction,
    baseConfig,
    config,
    items: TableProtectedItemStore.fromConnectionString(target),
    points: recoveryPointStores(config),
    sourceConnectionString: source,
    targetConnectionString: target,
    source: BlobServiceClient.fromConnectionString(source),
    target: BlobServiceClient.fromConnectionString(target),
  };
  cache.set(direction, services);
  return services;
}
