/**
 * A VM as a PUT asks for it, checked before anything is read or written: names by Azure's rules, a
 * VM size, power state, and disks whose sizes in GiB come to whole 512-byte sectors.
 */
import { vmIdProblem } from '../delta/vmId';
import { TidemarkError } from '../errors';
import { MAX_DISK_BYTES } from '../vmDisks';
import { parseIpv4 } from './cidr';
import { checkName, checkVmSize, nameKey } from './names';
import { POWER_STATES, type PowerState, type Tags } from './types';

export const GiB = 1024 ** 3;
/** Azure: an OS disk and up to 64 data disks. */
export const MAX_DISKS = 65;

export interface VmDiskInput {
  name: string;
  /** Size in GiB; fractions are fine (0.0625 = 64 MiB) as long as the bytes are whole sectors. */
  sizeGiB: number;
}

export interface VmPutInput {
  resourceGroup: string;
  name: string;
  region: string;
  /** A VNet in the VM's resource group (or `vnetResourceGroup`); created with defaults when absent. */
  vnet: string;
  /** A subnet of that VNet; created (the next free /24) when absent. */
  subnet: string;
  size: string;
  availabilitySet?: string;
  /** The first is the OS disk. */
  disks: VmDiskInput[];
  /** Default for a new VM: Running. Absent on an update: unchanged. */
  powerState?: PowerState;
  tags?: Tags;
  /** Where the VNet is, when not in the VM's resource group (service callers only). */
  vnetResourceGroup?: string;
  /** The private IP to take when it is free (failover keeps the source's address this way). */
  privateIp?: string;
  /** Allocate the address from the end of the subnet (test failover does). */
  allocateIpFromEnd?: boolean;
}

export interface VmDiskSpec {
  name: string;
  sizeBytes: number;
}

export interface VmSpec extends Omit<VmPutInput, 'disks'> {
  disks: VmDiskSpec[];
}

function invalid(message: string, details?: Record<string, unknown>): TidemarkError {
  return new TidemarkError('InvalidArgument', message, { details });
}

/** Why `sizeGiB` is not a disk size, or undefined: it must come to whole 512-byte sectors, up to 8 TiB. */
export function diskSizeProblem(sizeGiB: number): string | undefined {
  // Multiplying by a power of two is exact in floating point, so this is the exact byte count.
  const bytes = sizeGiB * GiB;
  if (!Number.isFinite(bytes) || bytes <= 0 || !Number.isInteger(bytes) || bytes % 512 !== 0) {
    return `sizeGiB ${sizeGiB} is not a whole number of 512-byte sectors (sizeGiB × 2^30 must be a positive multiple of 512, e.g. 1, 0.5 or 0.0625)`;
  }
  if (bytes > MAX_DISK_BYTES) return `sizeGiB ${sizeGiB} is over 8192 (8 TiB, the largest page blob)`;
  return undefined;
}

/** `sizeGiB` in bytes; InvalidArgument saying the rule when diskSizeProblem finds one. */
export function diskSizeBytes(diskName: string, sizeGiB: number): number {
  const problem = diskSizeProblem(sizeGiB);
  if (problem) throw invalid(`Disk ${diskName}: ${problem}.`, { disk: diskName, sizeGiB });
  return sizeGiB * GiB;
}

/** Checks a PUT's VM; InvalidArgument naming the first problem. */
export function checkVmSpec(input: VmPutInput): VmSpec {
  checkName('resourceGroup', input.resourceGroup);
  checkName('virtualMachine', input.name);
  const idProblem = vmIdProblem(`${input.resourceGroup}/${input.name}`);
  if (idProblem) throw invalid(`VM ${input.resourceGroup}/${input.name} ${idProblem}.`);
  checkName('virtualNetwork', input.vnet);
  checkName('subnet', input.subnet);
  if (input.vnetResourceGroup !== undefined) checkName('resourceGroup', input.vnetResourceGroup);
  checkVmSize(input.size);
  if (input.availabilitySet !== undefined) checkName('availabilitySet', input.availabilitySet);
  if (input.powerState !== undefined && !POWER_STATES.includes(input.powerState)) {
    throw invalid(
      `Power state ${JSON.stringify(input.powerState)} is not one of ${POWER_STATES.join(', ')}.`,
    );
  }
  if (input.privateIp !== undefined && parseIpv4(input.privateIp) === undefined) {
    throw invalid(`Private IP ${JSON.stringify(input.privateIp)} is not an IPv4 address.`);
  }
  if (input.disks.length < 1 || input.disks.length > MAX_DISKS) {
    throw invalid(
      `A VM has 1 to ${MAX_DISKS} disks (an OS disk and up to 64 data disks); got ${input.disks.length}.`,
    );
  }
  const seen = new Set<string>();
  const disks = input.disks.map((d) => {
    checkName('disk', d.name);
    if (seen.has(nameKey(d.name)))
      throw invalid(`Two disks are called ${JSON.stringify(d.name)}.`, { disk: d.name });
    seen.add(nameKey(d.name));
    return { name: d.name, sizeBytes: diskSizeBytes(d.name, d.sizeGiB) };
  });
  return { ...input, disks };
}
