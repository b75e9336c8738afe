/**
 * What every fabric record must satisfy before a store writes it: names by Azure's rules, the
 * store's region, and the kind's own invariants (a VNet's subnets inside its address space, a VM's
 * disks at distinct luns). A failure is InvalidArgument saying the rule.
 */
import { TidemarkError } from '../errors';
import { MAX_DISK_BYTES, MAX_LUN } from '../vmDisks';
import { checkAddressSpace, checkSubnets, ipProblem, parseIpv4 } from './cidr';
import { checkName, checkVmSize, nameKey } from './names';
import {
  type AvailabilitySet,
  type NetworkInterface,
  type NetworkMapping,
  POWER_STATES,
  type ResourceGroup,
  type StorageAccount,
  type VirtualMachine,
  type VirtualNetwork,
} from './types';

function invalid(message: string): TidemarkError {
  return new TidemarkError('InvalidArgument', message);
}

export function checkRegion(storeRegion: string, region: string, what: string): void {
  if (nameKey(region) !== nameKey(storeRegion)) {
    throw invalid(`${what} is in region ${region}, but this is the fabric of ${storeRegion}.`);
  }
}

export function checkResourceGroup(g: ResourceGroup): void {
  checkName('resourceGroup', g.name);
}

export function checkVirtualNetwork(v: VirtualNetwork): void {
  checkName('resourceGroup', v.resourceGroup);
  checkName('virtualNetwork', v.name);
  for (const s of v.subnets) checkName('subnet', s.name);
  const subnets = checkSubnets(checkAddressSpace(v.addressSpace), v.subnets);
  v.subnets.forEach((subnet, i) => {
    const seen = new Set<string>();
    for (const config of subnet.ipConfigurations ?? []) {
      const problem = ipProblem(subnets[i]!, config.privateIp, seen);
      if (problem) throw invalid(`Subnet ${subnet.name}: NIC ${config.nic.name}: ${problem}.`);
      seen.add(config.privateIp);
    }
  });
}

export function checkNetworkInterface(n: NetworkInterface): void {
  checkName('resourceGroup', n.resourceGroup);
  checkName('networkInterface', n.name);
  checkName('resourceGroup', n.subnet.resourceGroup);
  checkName('virtualNetwork', n.subnet.vnet);
  checkName('subnet', n.subnet.subnet);
  if (n.vm !== undefined) checkName('virtualMachine', n.vm);
  // The address is checked against its subnet when it is allocated (networkService.ts).
  if (parseIpv4(n.privateIp) === undefined) {
    throw invalid(`NIC ${n.name}: ${JSON.stringify(n.privateIp)} is not an IPv4 address.`);
  }
}

export function checkAvailabilitySet(a: AvailabilitySet): void {
  checkName('resourceGroup', a.resourceGroup);
  checkName('availabilitySet', a.name);
  // Azure: 1–3 fault domains (region dependent), 1–20 update domains.
  if (!Number.isInteger(a.faultDomainCount) || a.faultDomainCount < 1 || a.faultDomainCount > 3) {
    throw invalid(`Availability set ${a.name}: faultDomainCount must be 1 to 3.`);
  }
  if (!Number.isInteger(a.updateDomainCount) || a.updateDomainCount < 1 || a.updateDomainCount > 20) {
    throw invalid(`Availability set ${a.name}: updateDomainCount must be 1 to 20.`);
  }
}

export function checkStorageAccount(s: StorageAccount): void {
  checkName('resourceGroup', s.resourceGroup);
  checkName('storageAccount', s.name);
}

export function checkVirtualMachine(vm: VirtualMachine): void {
  checkName('resourceGroup', vm.resourceGroup);
  checkName('virtualMachine', vm.name);
  checkVmSize(vm.size);
  if (!POWER_STATES.includes(vm.powerState)) {
    throw invalid(
      `VM ${vm.name}: power state ${JSON.stringify(vm.powerState)} is not one of ${POWER_STATES.join(', ')}.`,
    );
  }
  for (const nic of vm.nics) checkName('networkInterface', nic);
  if (vm.availabilitySet !== undefined) checkName('availabilitySet', vm.availabilitySet);
  const luns = new Set<number>();
  const names = new Set<string>();
  for (const disk of vm.disks) {
    checkName('disk', disk.name);
    if (!Number.isInteger(disk.lun) || disk.lun < 0 || disk.lun > MAX_LUN || luns.has(disk.lun)) {
      throw invalid(
        `VM ${vm.name}: disk ${disk.name} has lun ${disk.lun}, not a distinct integer 0–${MAX_LUN}.`,
      );
    }
    if (names.has(nameKey(disk.name))) throw invalid(`VM ${vm.name}: two disks are called ${disk.name}.`);
    if (!Number.isSafeInteger(disk.sizeBytes) || disk.sizeBytes <= 0 || disk.sizeBytes % 512 !== 0) {
      throw invalid(
        `VM ${vm.name}: disk ${disk.name} size ${disk.sizeBytes} is not a positive multiple of 512.`,
      );
    }
    if (disk.sizeBytes > MAX_DISK_BYTES)
      throw invalid(`VM ${vm.name}: disk ${disk.name} is larger than 8 TiB.`);
    luns.add(disk.lun);
    names.add(nameKey(disk.name));
  }
}

export function checkNetworkMapping(m: NetworkMapping): void {
  for (const v of [m.sourceVnet, m.targetVnet]) {
    checkName('resourceGroup', v.resourceGroup);
    checkName('virtualNetwork', v.name);
  }
  if (nameKey(m.sourceRegion) === nameKey(m.targetRegion)) {
    throw invalid(`A network mapping joins two regions; both are ${m.sourceRegion}.`);
  }
}
