/**
 * The ARM fabric wired from tidemark's settings (`config.fabric`, kind `arm`): one ArmClient for the
 * subscription, shared by an ArmFabricStore per region. Regions keep their storage accounts (replicas,
 * cache, state); what has no meaning in ARM is refused clearly: a VM's disks are managed disks there,
 * not page blobs of a region's `disks` container.
 */
import type { TokenCredential } from '@azure/core-auth';
import { BlobServiceClient } from '@azure/storage-blob';

import type { Clock } from '../../clock';
import type { TidemarkConfig } from '../../config';
import { TidemarkError } from '../../errors';
import type { Logger } from '../../logger';
import type { Region } from '../../regions';
import type { RegionalFabricFactories } from '../regionalFabric';
import { armCredential } from './armAuth';
import { ArmClient } from './armClient';
import { ArmDiskAccess } from './armDiskAccess';
import type { ArmRetryOptions } from './armRetry';
import { ArmFabricStore } from './armFabricStore';

/** What tests (or a host) may inject; everything else comes from the settings. */
export interface ArmFabricOptions {
  credential?: TokenCredential;
  clock?: Clock;
  logger?: Logger;
  pollIntervalMs?: number;
  maxWaitMs?: number;
  retry?: ArmRetryOptions;
}

export function armClientFromConfig(config: TidemarkConfig, options: ArmFabricOptions = {}): ArmClient {
  return new ArmClient({
    endpoint: config.fabric.armEndpoint,
    credential: options.credential ?? armCredential(config.fabric),
    clock: options.clock,
    logger: options.logger,
    pollIntervalMs: options.pollIntervalMs,
    maxWaitMs: options.maxWaitMs,
    retry: options.retry,
  });
}

function subscriptionOf(config: TidemarkConfig): string {
  const id = config.fabric.subscriptionId;
  if (!id) {
    throw new TidemarkError(
      'InvalidConfig',
      'TIDEMARK_FABRIC is arm, but AZURE_SUBSCRIPTION_ID is not set.',
      {
        hint: 'Set AZURE_SUBSCRIPTION_ID to the subscription whose VMs tidemark protects.',
      },
    );
  }
  return id;
}

/** The error for `fabric.disks(region)` in ARM mode. */
export function noDisksContainer(region: string): TidemarkError {
  return new TidemarkError(
    'InvalidConfig',
    `The ARM fabric has no disks container in ${region}: VMs in Azure run on managed disks, not page blobs of a region's storage.`,
    {
      hint: 'Workflows reach managed disks through RegionalFabric.diskAccess; see docs/arm-fabric.md.',
      details: { region },
    },
  );
}

/** RegionalFabric factories for the ARM fabric: a store per region over one shared client. */
export function armFabricFactories(
  config: TidemarkConfig,
  options: ArmFabricOptions = {},
): RegionalFabricFactories {
  const subscriptionId = subscriptionOf(config);
  let client: ArmClient | undefined;
  return {
    store: (region: Region) =>
      new ArmFabricStore(region.name, (client ??= armClientFromConfig(config, options)), subscriptionId),
    disks: (region: Region) => {
      throw noDisksContainer(region.name);
    },
    diskAccess: (region, store) => {
      if (!(store instanceof ArmFabricStore)) {
        throw new TidemarkError('Internal', `The fabric store of ${region.name} is not the ARM fabric's.`);
      }
      return new ArmDiskAccess(
        region.name,
        store,
        BlobServiceClient.fromConnectionString(region.connectionString),
      );
    },
  };
}
