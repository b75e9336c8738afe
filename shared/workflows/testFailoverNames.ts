/**
 * What a test failover calls the things it makes in the target region, as Site Recovery does
 * (`<vm>-test`), and the tags that mark them as made by it, so a later run or a cleanup never takes
 * over or deletes a resource of the same name that someone else made.
 */
import { checkName } from '../fabric/names';

/** On the test VM: `{rg}/{vm}` of the protected item it is the test copy of. */
export const TEST_FAILOVER_TAG = 'tidemark-test-failover';
/** On a test VNet that a test failover created: the id of that job. */
export const TEST_NETWORK_JOB_TAG = 'tidemark-test-failover-job';

export function testVmName(vm: string): string {
  return checkName('virtualMachine', `${vm}-test`);
}

/** The test VM's NIC: `{vm}-test-nic`, as a VM's NIC is named after it. */
export function testNicName(vm: string): string {
  return checkName('networkInterface', `${vm}-test-nic`);
}

/** The isolated network a test failover creates when none is named: `<target vnet>-test`. */
export function testVnetName(targetVnet: string): string {
  return checkName('virtualNetwork', `${targetVnet}-test`);
}

/** The tag value that marks a test VM as the one of `{rg}/{vm}`. */
export function testVmTagValue(resourceGroup: string, vm: string): string {
  return `${resourceGroup}/${vm}`.toLowerCase();
}

/** Whether `vm` carries the tag of the test VM of `{resourceGroup}/{name}`. */
export function isTestVmOf(
  vm: { tags?: Record<string, string> },
  resourceGroup: string,
  name: string,
): boolean {
  return vm.tags?.[TEST_FAILOVER_TAG] === testVmTagValue(resourceGroup, name);
}
