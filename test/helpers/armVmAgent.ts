/**
 * A mobility agent for a VM of the fake Resource Manager. In Azure the agent runs inside the VM and
 * sees its managed disks as block devices; here it writes the disks' backing page blobs in the fake's
 * disk storage (their data, never the VHD footer after it) and serves them over NBD, so qemu-io plays
 * the guest. Its config and the cache are in `connectionString`, the storage of the VM's region, as
 * they are for an agent in Azure. The disks are the ones the VM has when the agent starts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { MobilityAgent } from '../../agent/agent';
import { PageBlobDisk } from '../../agent/pageBlobDisk';
import { ReplicatedDisk } from '../../agent/replicatedDisk';
import { VmDisks } from '../../agent/vmDisks';
import type { ArmFabricStore } from '../../shared/fabric/arm/armFabricStore';
import { VHD_FOOTER_BYTES } from '../../shared/fabric/vhdFooter';
import type { Logger } from '../../shared/logger';
import type { FakeArm } from './fakeArm';

export interface ArmVmAgent {
  agent: MobilityAgent;
  port: number;
  /** NBD export names, by lun (the VM record's disk names). */
  exports: string[];
  stop(): Promise<void>;
}

export async function startArmVmAgent(
  fake: FakeArm,
  store: ArmFabricStore,
  vm: { resourceGroup: string; name: string },
  options: { connectionString: string; logger: Logger },
): Promise<ArmVmAgent> {
  const record = await store.virtualMachines.get(vm.resourceGroup, vm.name);
  if (!record) throw new Error(`VM ${vm.resourceGroup}/${vm.name} is not in ${store.region}`);
  const disks = await Promise.all(
    record.disks.map(async (d) => {
      const blob = fake.diskBlob(d.blob.name);
      const size = ((await blob.getProperties()).contentLength ?? 0) - VHD_FOOTER_BYTES;
      return new ReplicatedDisk(d.lun, new PageBlobDisk(d.name, size, blob));
    }),
  );
  const agent = new MobilityAgent({
    resourceGroup: vm.resourceGroup,
    vm: vm.name,
    sourceConnectionString: options.connectionString,
    stateDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-arm-agent-')),
    openDisks: async () => new VmDisks(disks),
    logger: options.logger.child({ component: 'agent', vm: `${vm.resourceGroup}/${vm.name}` }),
    configPollIntervalMs: 300,
    statusIntervalMs: 1000,
  });
  await agent.start();
  const { nbd } = agent.status();
  return { agent, port: nbd.port, exports: nbd.exports, stop: () => agent.stop() };
}
