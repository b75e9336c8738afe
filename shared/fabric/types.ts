/**
 * The fabric model (DESIGN §1): the resources of a region as Azure Resource Manager has them, reduced
 * to what replication and failover need. Names are case-insensitive, as in Azure: stores look them up
 * in any case and keep the case they were created with. `etag` is the store's version of a record;
 * writes that carry one succeed only while it is current.
 */

export const POWER_STATES = ['Running', 'Stopped', 'Deallocated'] as const;
export type PowerState = (typeof POWER_STATES)[number];

export type Tags = Record<string, string>;

interface Versioned {
  etag?: string;
}

export interface ResourceGroup extends Versioned {
  name: string;
  region: string;
  tags?: Tags;
}

/** A resource that lives in a resource group of one region. */
export interface GroupedResource extends Versioned {
  resourceGroup: string;
  name: string;
  region: string;
  tags?: Tags;
}

export interface ResourceRef {
  resourceGroup: string;
  name: string;
}

/** A NIC's claim on an address of a subnet; the subnet's list is what makes allocation atomic. */
export interface IpConfiguration {
  nic: ResourceRef;
  privateIp: string;
}

export interface Subnet {
  name: string;
  /** IPv4 CIDR inside one of the VNet's address spaces, e.g. `10.1.1.0/24`. */
  addressPrefix: string;
  ipConfigurations?: IpConfiguration[];
}

export interface VirtualNetwork extends GroupedResource {
  /** IPv4 CIDRs, e.g. `['10.1.0.0/16']`. */
  addressSpace: string[];
  subnets: Subnet[];
}

export interface SubnetRef {
  resourceGroup: string;
  vnet: string;
  subnet: string;
}

export interface NetworkInterface extends GroupedResource {
  subnet: SubnetRef;
  privateIp: string;
  /** The VM it is attached to (same resource group), if any. */
  vm?: string;
}

export interface AvailabilitySet extends GroupedResource {
  faultDomainCount: number;
  updateDomainCount: number;
}

export interface StorageAccount extends GroupedResource {
  kind: 'StorageV2' | 'BlockBlobStorage';
}

/** Where a disk's page blob lives: a container of a region's storage (or of a named account). */
export interface BlobRef {
  region: string;
  /** The storage account; absent for the region's own storage (locally: its Azurite). */
  account?: string;
  container: string;
  name: string;
}

export interface VmDisk {
  name: string;
  /** The disk's index in deltas; 0 is the OS disk. */
  lun: number;
  sizeBytes: number;
  blob: BlobRef;
  /** The OS disk's operating system, where the fabric knows it (ARM: `storageProfile.osDisk.osType`). */
  osType?: 'Linux' | 'Windows';
}

export interface VirtualMachine extends GroupedResource {
  /** An Azure VM size, e.g. `Standard_B2s`. */
  size: string;
  powerState: PowerState;
  /** NIC names in the VM's resource group; the first is the primary. */
  nics: string[];
  /** Ordered by lun. */
  disks: VmDisk[];
  availabilitySet?: string;
}

export interface VnetRef {
  resourceGroup: string;
  name: string;
}

/** Source VNet ↔ target VNet. Created in both directions; subnets are matched by name. */
export interface NetworkMapping extends Versioned {
  sourceRegion: string;
  sourceVnet: VnetRef;
  targetRegion: string;
  targetVnet: VnetRef;
}
