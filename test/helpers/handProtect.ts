/**
 * Protects a VM with empty disks without the enable workflow, with every agent setting in the test's
 * hands (tidemarkHost.ts's protectVmByHand is this for a running stack): source disks, empty replicas
 * (the initial copy of an empty disk), a `Protected` item applying deltas, and the agent config,
 * whose cache credentials may point at a proxy instead of the cache itself (the host's sweep timer
 * tops them up as enable replication's would be, keeping that address).
 */
import { BlobServiceClient } from '@azure/storage-blob';

import { type AgentReplicationConfigInput, writeAgentConfig } from '../../shared/agentConfig';
import { type ReplicatedDiskInfo, TableProtectedItemStore } from '../../shared/protectedItems';
import { CONTAINERS } from '../../shared/storageNames';
import { createVmDisk } from '../../shared/vmDisks';
import { testAgentConfig } from './agentCredentials';

export interface HandProtectSpec {
  resourceGroup: string;
  vm: string;
  disks: readonly ReplicatedDiskInfo[];
  /** Agent config fields (flush interval, heartbeat, buffer). */
  agent?: Partial<
    Pick<AgentReplicationConfigInput, 'flushIntervalMs' | 'heartbeatIntervalMs' | 'maxBufferBytes'>
  >;
  /** The cache URL goes to this port on 127.0.0.1 instead of the source Azurite's blob port. */
  cachePort?: number;
}

/** Writes the agent config with a first window of cache credentials, pointed at `cachePort` when given. */
export async function writeConfig(
  sourceConnection: string,
  spec: Pick<HandProtectSpec, 'resourceGroup' | 'vm' | 'agent' | 'cachePort'>,
): Promise<void> {
  await writeAgentConfig(
    BlobServiceClient.fromConnectionString(sourceConnection).getContainerClient(CONTAINERS.agentConfig),
    testAgentConfig(sourceConnection, {
      resourceGroup: spec.resourceGroup,
      vm: spec.vm,
      validForMs: 24 * 3_600_000,
      ...(spec.cachePort === undefined ? {} : { port: spec.cachePort }),
      ...spec.agent,
    }),
  );
}

export async function protectByHand(
  regions: { source: string; target: string },
  spec: HandProtectSpec,
): Promise<void> {
  const { resourceGroup, vm, disks } = spec;
  const source = BlobServiceClient.fromConnectionString(regions.source);
  const target = BlobServiceClient.fromConnectionString(regions.target);
  const diskContainer = source.getContainerClient(CONTAINERS.disks);
  await diskContainer.createIfNotExists();
  await source.getContainerClient(CONTAINERS.cache).createIfNotExists();
  const replicas = target.getContainerClient(CONTAINERS.replicas);
  await replicas.createIfNotExists();
  for (const d of disks) {
    await createVmDisk(diskContainer, resourceGroup, vm, d.name, d.lun, d.sizeBytes);
    await replicas.getPageBlobClient(`${resourceGroup}/${vm}/${d.name}`).create(d.sizeBytes);
  }
  await TableProtectedItemStore.fromConnectionString(regions.target).create({
    resourceGroup,
    vm,
    state: 'Protected',
    generation: 1,
    disks: disks.map((d) => ({ lun: d.lun, name: d.name, sizeBytes: d.sizeBytes })),
    applyEnabled: true,
    watermark: 0,
  });
  await writeConfig(regions.source, spec);
}
