/**
 * The real applier against two real Azurites (cache in the source one, replicas, journal, quarantine,
 * locks and protected items in the target one), for tests that feed it hostile deltas:
 * `const rig = useApplierRig();` in a describe, then `rig().protect('vm-a')` and so on in tests.
 */
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { beforeAll } from 'vitest';

import { SystemClock } from '../../shared/clock';
import { type Delta, type DeltaEntry, deltaBlobName } from '../../shared/delta';
import { RecordingLogger } from '../../shared/logger';
import { type ProtectedItem, TableProtectedItemStore } from '../../shared/protectedItems';
import { type ApplierOptions, type ApplierStores, DeltaApplier } from '../../shared/replication/applier';
import { CONTAINERS } from '../../shared/storageNames';
import type { AzuriteInstance } from '../../host/azurite';
import { useAzurite } from '../helpers/azurite';

export const RIG_DISK_BYTES = 64 * 1024;
export const RIG_DISKS = [
  { lun: 0, name: 'os', sizeBytes: RIG_DISK_BYTES },
  { lun: 1, name: 'data', sizeBytes: RIG_DISK_BYTES },
];

export interface ApplierRig {
  source: AzuriteInstance;
  target: AzuriteInstance;
  stores: ApplierStores;
  cache: ContainerClient;
  logger: RecordingLogger;
  /** A Protected item `{rg}/{vm}` (generation 1, watermark 0) whose replicas hold a known fill. */
  protect(rg: string, vm: string, overrides?: Partial<ProtectedItem>): Promise<void>;
  item(rg: string, vm: string): Promise<ProtectedItem>;
  replicas(rg: string, vm: string): Promise<Buffer[]>;
  /** What a fresh replica of `{rg}/{vm}` holds: disk i filled with 0x10 + i. */
  initial(): Buffer[];
  applier(options?: Partial<ApplierOptions>): DeltaApplier;
  /** Blob names in the quarantine container under a prefix. */
  quarantined(prefix: string): Promise<string[]>;
  cacheNames(prefix: string): Promise<string[]>;
}

export function delta(vmId: string, sequence: number, entries: DeltaEntry[], generation = 1): Delta {
  return {
    vmId,
    generation,
    sequence,
    firstWriteTime: 1_000 + sequence,
    lastWriteTime: 2_000 + sequence,
    appConsistent: false,
    heartbeat: entries.length === 0,
    entries,
  };
}

export function nameOf(rg: string, vm: string, sequence: number, generation = 1): string {
  return deltaBlobName({ resourceGroup: rg, vm, generation, sequence });
}

export function useApplierRig(): () => ApplierRig {
  const source = useAzurite();
  const target = useAzurite();
  let rig: ApplierRig | undefined;
  beforeAll(async () => {
    const src = BlobServiceClient.fromConnectionString(source().connectionString);
    const tgt = BlobServiceClient.fromConnectionString(target().connectionString);
    const cache = src.getContainerClient(CONTAINERS.cache);
    const replicaContainer = tgt.getContainerClient(CONTAINERS.replicas);
    await Promise.all([cache.createIfNotExists(), replicaContainer.createIfNotExists()]);
    const stores: ApplierStores = {
      cache,
      replicas: replicaContainer,
      journal: tgt.getContainerClient(CONTAINERS.journal),
      quarantine: tgt.getContainerClient(CONTAINERS.quarantine),
      locks: tgt.getContainerClient(CONTAINERS.locks),
      items: TableProtectedItemStore.fromConnectionString(target().connectionString),
    };
    const logger = new RecordingLogger();
    const initial = (): Buffer[] => RIG_DISKS.map((d) => Buffer.alloc(RIG_DISK_BYTES, 0x10 + d.lun));
    const list = async (container: ContainerClient, prefix: string): Promise<string[]> => {
      const names: string[] = [];
      if (!(await container.exists())) return names;
      for await (const b of container.listBlobsFlat({ prefix })) names.push(b.name);
      return names;
    };
    rig = {
      source: source(),
      target: target(),
      stores,
      cache,
      logger,
      initial,
      async protect(rg, vm, overrides = {}) {
        const fills = initial();
        for (const d of RIG_DISKS) {
          const blob = replicaContainer.getPageBlobClient(`${rg}/${vm}/${d.name}`);
          await blob.create(RIG_DISK_BYTES);
          await blob.uploadPages(fills[d.lun]!, 0, RIG_DISK_BYTES);
        }
        await stores.items.create({
          resourceGroup: rg,
          vm,
          state: 'Protected',
          generation: 1,
          disks: RIG_DISKS,
          applyEnabled: true,
          watermark: 0,
          ...overrides,
        });
      },
      async item(rg, vm) {
        const item = await stores.items.get(rg, vm);
        if (!item) throw new Error(`no item ${rg}/${vm}`);
        return item;
      },
      replicas: (rg, vm) =>
        Promise.all(
          RIG_DISKS.map((d) =>
            replicaContainer.getPageBlobClient(`${rg}/${vm}/${d.name}`).downloadToBuffer(),
          ),
        ),
      applier: (options = {}) =>
        new DeltaApplier(stores, { clock: new SystemClock(), logger, leaseWaitMs: 5_000, ...options }),
      quarantined: (prefix) => list(stores.quarantine, prefix),
      cacheNames: (prefix) => list(cache, prefix),
    };
  });
  return () => {
    if (!rig) throw new Error('The applier rig is not ready yet (use it inside a test or hook).');
    return rig;
  };
}
