/**
 * "Creating the test network": the VNet the test VM goes into, isolated from production (no network
 * mapping, not the VNet failover uses). A VNet named in the request must exist in the target resource
 * group; otherwise `<target vnet>-test` is used, created when missing with the target VNet's address
 * space and subnets and tagged with this job, so cleanup knows test failover made it. Idempotent: a
 * VNet this job already created is found by its tag.
 */
import { TidemarkError } from '../../shared/errors';
import type { FabricStore } from '../../shared/fabric/fabricStore';
import { sameName } from '../../shared/fabric/names';
import { ensureResourceGroup } from '../../shared/fabric/resourceGroups';
import type { NetworkMapping, VirtualNetwork } from '../../shared/fabric/types';
import { ensureVirtualNetwork } from '../../shared/fabric/virtualNetworks';
import type { Logger } from '../../shared/logger';
import { TEST_NETWORK_JOB_TAG, testVnetName } from '../../shared/workflows/testFailoverNames';
import { checkTestNetwork } from '../../shared/workflows/testNetwork';
import { claimedServices } from './services.activities';
import type { PlanRef, TestNetwork } from './types';

export interface TestNetworkInput extends PlanRef {
  network?: string;
}

async function mappingFrom(store: FabricStore, vnet: VirtualNetwork): Promise<NetworkMapping | undefined> {
  return (await store.networkMappings.list()).find(
    (m) => sameName(m.sourceVnet.resourceGroup, vnet.resourceGroup) && sameName(m.sourceVnet.name, vnet.name),
  );
}

export async function createTestNetwork(input: TestNetworkInput, log: Logger): Promise<TestNetwork> {
  const { ref, plan } = input;
  const { s } = await claimedServices(ref);
  const store = s.fabric.store(plan.targetRegion);
  const group = plan.targetResourceGroup;
  const defaultName = testVnetName(plan.targetVnet.name);
  const check = async (vnet: VirtualNetwork) =>
    checkTestNetwork({
      vnet,
      targetVnet: plan.targetVnet,
      mapping: await mappingFrom(store, vnet),
      subnet: plan.subnet,
      defaultName,
    });

  if (input.network) {
    const vnet = await store.virtualNetworks.get(group, input.network);
    if (!vnet) {
      throw new TidemarkError(
        'NotFound',
        `VNet ${group}/${input.network} does not exist in ${plan.targetRegion}.`,
        {
          hint: `Create it in resource group ${group} first, or leave network out to let test failover create ${defaultName}.`,
        },
      );
    }
    const subnet = await check(vnet);
    return { resourceGroup: vnet.resourceGroup, name: vnet.name, subnet: subnet.name, created: false };
  }

  let vnet = await store.virtualNetworks.get(group, defaultName);
  if (!vnet) {
    const target = await store.virtualNetworks.get(plan.targetVnet.resourceGroup, plan.targetVnet.name);
    if (!target) {
      throw new TidemarkError(
        'Conflict',
        `Target VNet ${plan.targetVnet.resourceGroup}/${plan.targetVnet.name} does not exist in ${plan.targetRegion}; the test network copies its address space and subnets.`,
        {
          hint: 'Name an existing isolated VNet in the request, or enable replication again to recreate it.',
        },
      );
    }
    const planned: VirtualNetwork = {
      resourceGroup: group,
      name: defaultName,
      region: store.region,
      addressSpace: [...target.addressSpace],
      subnets: target.subnets.map((sn) => ({ name: sn.name, addressPrefix: sn.addressPrefix })),
      tags: { [TEST_NETWORK_JOB_TAG]: ref.jobId },
    };
    await check(planned);
    await ensureResourceGroup(s.fabric, plan.targetRegion, group);
    vnet = await ensureVirtualNetwork(store, planned);
    log.info('Test network ready', { vnet: `${group}/${vnet.name}`, job: ref.jobId });
  }
  const subnet = await check(vnet);
  // Made by a test failover (this one, or another VM's that shares it): cleanup deletes it once empty.
  const created = vnet.tags?.[TEST_NETWORK_JOB_TAG] !== undefined;
  return { resourceGroup: vnet.resourceGroup, name: vnet.name, subnet: subnet.name, created };
}
