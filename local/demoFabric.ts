/**
 * The demo fabric `npm start` seeds in the source region, through the same services as the API:
 *
 *   demo-rg ─ demo-vnet 10.1.0.0/16 ─┬─ web 10.1.1.0/24 ─ web1 (os 256 MiB, data 128 MiB)
 *           └ demo-avset             └─ db  10.1.2.0/24 ─ db1  (os 256 MiB, data 128 MiB)
 *
 * Only what is absent is created: a VM that exists (stopped, or with disks added) is left as it is.
 * While web1 runs, its agent runs a light write workload (agent/workload.ts) on its disks, so the
 * demo has writes to replicate without anyone writing.
 */
import type { WorkloadSpec } from '../agent/workload';
import { ensureAvailabilitySet } from '../shared/fabric/availabilitySets';
import { sameName } from '../shared/fabric/names';
import { ensureResourceGroup } from '../shared/fabric/resourceGroups';
import type { FabricServices } from '../shared/fabric/services';
import type { VirtualMachine } from '../shared/fabric/types';
import { ensureVirtualNetwork } from '../shared/fabric/virtualNetworks';
import type { VmPutInput } from '../shared/fabric/vmSpec';
import type { Logger } from '../shared/logger';

export const DEMO_RESOURCE_GROUP = 'demo-rg';
export const DEMO_VNET = {
  name: 'demo-vnet',
  addressSpace: ['10.1.0.0/16'],
  subnets: [
    { name: 'web', addressPrefix: '10.1.1.0/24' },
    { name: 'db', addressPrefix: '10.1.2.0/24' },
  ],
};
export const DEMO_AVAILABILITY_SET = 'demo-avset';

/** web1's light workload: 4 KiB writes, 80 % of them in a hot 5 % of each disk, 0.1 MB/s. */
export const DEMO_WORKLOAD: WorkloadSpec = { pattern: 'hotspot', rateMBps: 0.1, seed: 1 };

/** The workload a VM's agent runs: DEMO_WORKLOAD for the demo's web1 in `region`, else none. */
export function demoWorkloadFor(
  region: string,
): (vm: Pick<VirtualMachine, 'region' | 'resourceGroup' | 'name'>) => WorkloadSpec | undefined {
  return (vm) =>
    vm.region === region && sameName(vm.resourceGroup, DEMO_RESOURCE_GROUP) && sameName(vm.name, 'web1')
      ? DEMO_WORKLOAD
      : undefined;
}

const DISKS = [
  { name: 'os', sizeGiB: 0.25 },
  { name: 'data', sizeGiB: 0.125 },
];

export function demoVms(region: string): VmPutInput[] {
  const common = {
    resourceGroup: DEMO_RESOURCE_GROUP,
    region,
    vnet: DEMO_VNET.name,
    availabilitySet: DEMO_AVAILABILITY_SET,
    disks: DISKS,
    powerState: 'Running' as const,
  };
  return [
    { ...common, name: 'web1', subnet: 'web', size: 'Standard_B1s' },
    { ...common, name: 'db1', subnet: 'db', size: 'Standard_B2s' },
  ];
}

/** Seeds the demo fabric in `region`; returns the VMs it created (none when all were there). */
export async function seedDemoFabric(
  services: FabricServices,
  region: string,
  logger: Logger,
): Promise<string[]> {
  const { fabric, vms } = services;
  const store = fabric.store(region);
  await ensureResourceGroup(fabric, region, DEMO_RESOURCE_GROUP);
  await ensureVirtualNetwork(store, { resourceGroup: DEMO_RESOURCE_GROUP, ...DEMO_VNET });
  await ensureAvailabilitySet(store, DEMO_RESOURCE_GROUP, DEMO_AVAILABILITY_SET);
  const created: string[] = [];
  for (const vm of demoVms(region)) {
    if (await vms.findVm(vm.resourceGroup, vm.name)) continue;
    await vms.createOrUpdateVm(vm);
    created.push(`${vm.resourceGroup}/${vm.name}`);
  }
  if (created.length) logger.info('Demo fabric seeded', { region, vms: created });
  return created;
}
