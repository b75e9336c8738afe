/**
 * What the failover e2e tests share: writing and checking patterns over NBD with qemu-io, waiting
 * for a write to reach the replica, cutting a recovery point from the test, reading the target
 * fabric directly (GET /api/vms asks every region, and the source may be down), and checking a
 * job's steps.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { expect } from 'vitest';

import { SystemClock } from '../../../shared/clock';
import { loadConfig } from '../../../shared/config';
import { TableAgentEndpointStore } from '../../../shared/fabric/agentEndpoints';
import { TableFabricStore } from '../../../shared/fabric/tableFabricStore';
import type { Job } from '../../../shared/jobs/types';
import { cutRecoveryPoint } from '../../../shared/recoveryPoints/cut';
import { recoveryPointStores } from '../../../shared/recoveryPoints/stores';
import type { RecoveryPoint } from '../../../shared/recoveryPoints/types';
import { CONTAINERS } from '../../../shared/storageNames';
import { qemuIo } from '../../helpers/nbdTools';
import { waitFor } from '../../helpers/waitFor';

export const FAILOVER_STEP_NAMES = [
  'Prerequisites check',
  'Shutting down the source virtual machine',
  'Synchronizing latest data',
  'Creating the target disks',
  'Creating the network interface',
  'Starting the replica virtual machine',
];

export const COMMIT_STEP_NAMES = [
  'Prerequisites check',
  'Deleting recovery points',
  'Stopping replication from the source',
];

/** What a disk must hold: [disk, pattern byte, offset, length] (byte 0: never written). */
export type Pattern = [disk: string, byte: number, offset: number, length: number];

export interface Regions {
  source: string;
  target: string;
}

export async function writePatterns(port: number, patterns: Pattern[]): Promise<void> {
  for (const [disk, byte, offset, length] of patterns) {
    const r = await qemuIo(port, disk, [`write -P ${byte} ${offset} ${length}`]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
  }
}

/** qemu-io `read -P` of every pattern on a VM's NBD export. */
export async function expectPatterns(port: number, patterns: Pattern[]): Promise<void> {
  for (const [disk, byte, offset, length] of patterns) {
    const r = await qemuIo(port, disk, [`read -P ${byte} ${offset} ${length}`]);
    const said = r.stdout + r.stderr;
    expect(r.code, said).toBe(0);
    expect(said, `${disk} @${offset} should hold ${byte}`).not.toMatch(/Pattern verification failed|error/i);
    expect(said).toMatch(/read \d+\/\d+ bytes/);
  }
}

/** Waits until the replicas of `rg/vm` hold every pattern (the writes were shipped and applied). */
export async function replicasHold(
  targetConnection: string,
  resourceGroup: string,
  vm: string,
  patterns: Pattern[],
): Promise<void> {
  const replicas = BlobServiceClient.fromConnectionString(targetConnection).getContainerClient(
    CONTAINERS.replicas,
  );
  for (const [disk, byte, offset, length] of patterns) {
    const blob = replicas.getBlobClient(`${resourceGroup}/${vm}/${disk}`);
    await waitFor(async () => (await blob.downloadToBuffer(offset, length)).every((b) => b === byte), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: `replica ${disk} of ${vm} to hold ${byte} at ${offset}`,
    });
  }
}

/** Cuts a crash-consistent point now, as the recovery-point timer would. */
export async function cutPoint(regions: Regions, resourceGroup: string, vm: string): Promise<RecoveryPoint> {
  const stores = recoveryPointStores(
    loadConfig({ TIDEMARK_SOURCE_STORAGE: regions.source, TIDEMARK_TARGET_STORAGE: regions.target }),
  );
  const cut = await cutRecoveryPoint(
    { ...stores, clock: new SystemClock() },
    resourceGroup,
    vm,
    'CrashConsistent',
  );
  if (cut.outcome !== 'cut') throw new Error(`no point was cut: ${cut.outcome}`);
  return cut.point;
}

export function westusFabric(targetConnection: string): TableFabricStore {
  return TableFabricStore.fromConnectionString('westus', targetConnection);
}

/** The NBD port a running westus VM's agent serves on, from the target fabric (no source needed). */
export function westusNbdPort(targetConnection: string, resourceGroup: string, vm: string): Promise<number> {
  const endpoints = TableAgentEndpointStore.fromConnectionString(targetConnection);
  return waitFor(async () => (await endpoints.get(resourceGroup, vm))?.port, {
    timeoutMs: 30_000,
    intervalMs: 200,
    what: `the NBD endpoint of ${resourceGroup}/${vm}`,
  });
}

/** Every step ran in order and succeeded, but those in `skipped`. */
export function expectStepsInOrder(job: Job, names: string[], skipped: string[] = []): void {
  expect(job.steps.map((s) => s.name)).toEqual(names);
  let previousEnd = job.startedAt!;
  for (const step of job.steps) {
    if (skipped.includes(step.name)) {
      expect(step.state, step.name).toBe('Skipped');
      continue;
    }
    expect(step.state, `${step.name}: ${step.error}`).toBe('Succeeded');
    expect(step.startedAt! >= previousEnd, step.name).toBe(true);
    expect(step.endedAt! >= step.startedAt!, step.name).toBe(true);
    previousEnd = step.endedAt!;
  }
}
