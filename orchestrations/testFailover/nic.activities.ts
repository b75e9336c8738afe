/**
 * "Creating the network interface": `{vm}-test-nic` in the test VNet's subnet named like the source
 * VM's, attached to the test VM, keeping the source VM's private IP when it is free there (else the
 * last free address, as Site Recovery's test failover allocates). Idempotent: the address is claimed
 * once per NIC, and a retry finds the NIC.
 */
import { ensureNic } from '../../shared/fabric/networkInterfaces';
import type { Logger } from '../../shared/logger';
import { testNicName, testVmName } from '../../shared/workflows/testFailoverNames';
import { claimedServices } from './services.activities';
import type { PlanRef, TestNetwork, TestNic } from './types';

export interface TestNicInput extends PlanRef {
  network: TestNetwork;
}

export async function createTestNic(input: TestNicInput, log: Logger): Promise<TestNic> {
  const { ref, plan, network } = input;
  const { s } = await claimedServices(ref);
  const nic = await ensureNic(
    s.fabric.store(plan.targetRegion),
    {
      resourceGroup: plan.targetResourceGroup,
      name: testNicName(ref.vm),
      subnet: { resourceGroup: network.resourceGroup, vnet: network.name, subnet: network.subnet },
      vm: testVmName(ref.vm),
    },
    { preferred: plan.privateIp, fromEnd: true },
  );
  log.info('Test NIC ready', { nic: `${nic.resourceGroup}/${nic.name}`, privateIp: nic.privateIp });
  return { resourceGroup: nic.resourceGroup, name: nic.name, privateIp: nic.privateIp };
}
