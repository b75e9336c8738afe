/**
 * A rig for recovery-point tests on two real Azurites (source cache, target): protected VMs with
 * replicas, delta uploads, the applier, and a shadow model of what the disks must hold.
 */
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { beforeAll } from 'vitest';

import type { Clock } from '../../../shared/clock';
import {
  type Delta,
  type DeltaEntry,
  deltaBlobMetadata,
  deltaBlobName,
  encodeDelta,
} from '../../../shared/delta';
import { journaledDeltas } from '../../../shared/journal';
import { type Logger, RecordingLogger } from '../../../shared/logger';
import { type ProtectedItem, TableProtectedItemStore } from '../../../shared/protectedItems';
import { appConsistentCutter } from '../../../shared/recoveryPoints/appConsistent';
import { TableRecoveryPointCatalog } from '../../../shared/recoveryPoints/catalog';
import type { RecoveryPointStores } from '../../../shared/recoveryPoints/stores';
import type { RecoveryPoint } from '../../../shared/recoveryPoints/types';
import { type ApplierStores, DeltaApplier } from '../../../shared/replication/applier';
import { useAzurite } from '../../helpers/azurite';

export const DISK_BYTES = 64 * 1024;
export const DISKS = [
  { lun: 0, name: 'os', sizeBytes: DISK_BYTES },
  { lun: 1, name: 'data', sizeBytes: DISK_BYTES },
];

export interface Rig {
  source: string;
  target: string;
  applier: ApplierStores;
  points: RecoveryPointStores;
  cache: ContainerClient;
  replicas: ContainerClient;
  restores: ContainerClient;
  /** Creates replicas filled with a pattern and the protected item; returns the disks' bytes. */
  protect(vm: string, overrides?: Partial<ProtectedItem>, disks?: typeof DISKS): Promise<Buffer[]>;
  /** Uploads a delta to the cache; returns its blob name. */
  upload(delta: Delta): Promise<string>;
  newApplier(clock: Clock, logger?: Logger): DeltaApplier;
  snapshotBytes(point: RecoveryPoint): Promise<Buffer[]>;
  /** Every snapshot of the VM's replicas, as `disk@snapshot`. */
  snapshots(vm: string): Promise<string[]>;
  /** The sequences the VM's journal holds (generation 1), read through shared/journal. */
  journalSequences(vm: string): Promise<number[]>;
}

export function makeDelta(
  vm: string,
  sequence: number,
  entries: DeltaEntry[],
  times: { first: number; last: number },
  appConsistent = false,
): Delta {
  return {
    vmId: `rg/${vm}`,
    generation: 1,
    sequence,
    firstWriteTime: times.first,
    lastWriteTime: times.last,
    appConsistent,
    heartbeat: entries.length === 0,
    entries,
  };
}

/** The disks after `entries`, in write order, over `disks`. */
export function applyEntries(disks: readonly Buffer[], entries: readonly DeltaEntry[]): Buffer[] {
  const out = disks.map((d) => Buffer.from(d));
  for (const e of entries) {
    if ('zeroLength' in e) out[e.disk]!.fill(0, e.offset, e.offset + e.zeroLength);
    else e.data.copy(out[e.disk]!, e.offset);
  }
  return out;
}

export function useRig(): () => Rig {
  const source = useAzurite();
  const target = useAzurite();
  let rig: Rig | undefined;
  beforeAll(async () => {
    const src = BlobServiceClient.fromConnectionString(source().connectionString);
    const tgt = BlobServiceClient.fromConnectionString(target().connectionString);
    const cache = src.getContainerClient('cache');
    const replicas = tgt.getContainerClient('replicas');
    const restores = tgt.getContainerClient('restores');
    const agentConfig = src.getContainerClient('agent-config');
    await Promise.all([cache, replicas, restores, agentConfig].map((c) => c.createIfNotExists()));
    const items = TableProtectedItemStore.fromConnectionString(target().connectionString);
    const applier: ApplierStores = {
      cache,
      replicas,
      journal: tgt.getContainerClient('journal'),
      quarantine: tgt.getContainerClient('quarantine'),
      locks: tgt.getContainerClient('locks'),
      items,
    };
    const points: RecoveryPointStores = {
      replicas,
      journal: applier.journal,
      locks: applier.locks,
      items,
      catalog: TableRecoveryPointCatalog.fromConnectionString(target().connectionString),
      agentConfig,
    };
    await applier.journal.createIfNotExists();
    rig = {
      source: source().connectionString,
      target: target().connectionString,
      applier,
      points,
      cache,
      replicas,
      restores,
      async protect(vm, overrides = {}, disks = DISKS) {
        const initial = disks.map((d) => Buffer.alloc(d.sizeBytes, 0x10 + d.lun));
        for (const d of disks) {
          const blob = replicas.getPageBlobClient(`rg/${vm}/${d.name}`);
          await blob.create(d.sizeBytes);
          await blob.uploadPages(initial[d.lun]!, 0, d.sizeBytes);
        }
        await items.create({
          resourceGroup: 'rg',
          vm,
          state: 'Protected',
          generation: 1,
          disks,
          applyEnabled: true,
          watermark: 0,
          ...overrides,
        });
        return initial;
      },
      async upload(delta) {
        const name = deltaBlobName({
          resourceGroup: 'rg',
          vm: delta.vmId.split('/')[1]!,
          generation: delta.generation,
          sequence: delta.sequence,
        });
        await cache
          .getBlockBlobClient(name)
          .uploadData(encodeDelta(delta), { metadata: deltaBlobMetadata(delta) });
        return name;
      },
      newApplier(clock, logger = new RecordingLogger()) {
        return new DeltaApplier(applier, {
          clock,
          logger,
          onAppConsistent: appConsistentCutter({ ...points, clock, logger }),
        });
      },
      async snapshotBytes(point) {
        return Promise.all(
          point.disks.map((d) =>
            replicas.getBlobClient(`rg/${point.vm}/${d.name}`).withSnapshot(d.snapshot).downloadToBuffer(),
          ),
        );
      },
      async snapshots(vm) {
        const out: string[] = [];
        for await (const b of replicas.listBlobsFlat({ prefix: `rg/${vm}/`, includeSnapshots: true })) {
          if (b.snapshot) out.push(`${b.name.slice(`rg/${vm}/`.length)}@${b.snapshot}`);
        }
        return out.sort();
      },
      async journalSequences(vm) {
        const deltas = await journaledDeltas(applier.journal, { resourceGroup: 'rg', vm, generation: 1 });
        return deltas.map((d) => d.sequence);
      },
    };
  });
  return () => {
    if (!rig) throw new Error('The rig is not ready yet (use it inside a test or hook).');
    return rig;
  };
}
