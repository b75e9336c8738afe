/**
 * The parts of ARM's JSON the ARM fabric reads. Deliberately loose: bodies travel as plain JSON and
 * a read-modify-write sends back every property ARM gave, known here or not.
 */
export type Json = Record<string, unknown>;

export interface ArmResource<P extends object = Json> {
  id?: string;
  name?: string;
  type?: string;
  location?: string;
  tags?: Record<string, string>;
  etag?: string;
  kind?: string;
  sku?: { name?: string } & Json;
  properties?: P & { provisioningState?: string };
  [key: string]: unknown;
}

export interface SubResource {
  id?: string;
  [key: string]: unknown;
}

export interface ArmSubnet {
  id?: string;
  name?: string;
  etag?: string;
  properties?: {
    addressPrefix?: string;
    addressPrefixes?: string[];
    ipConfigurations?: SubResource[];
    provisioningState?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export type ArmVirtualNetwork = ArmResource<{
  addressSpace?: { addressPrefixes?: string[]; [key: string]: unknown };
  subnets?: ArmSubnet[];
  [key: string]: unknown;
}>;

export interface ArmIpConfiguration {
  id?: string;
  name?: string;
  properties?: {
    subnet?: SubResource;
    privateIPAddress?: string;
    privateIPAllocationMethod?: string;
    primary?: boolean;
    provisioningState?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export type ArmNetworkInterface = ArmResource<{
  ipConfigurations?: ArmIpConfiguration[];
  virtualMachine?: SubResource;
  [key: string]: unknown;
}>;

export type ArmAvailabilitySet = ArmResource<{
  platformFaultDomainCount?: number;
  platformUpdateDomainCount?: number;
  [key: string]: unknown;
}>;

export interface ArmVmDisk {
  lun?: number;
  name?: string;
  createOption?: string;
  diskSizeGB?: number;
  osType?: string;
  managedDisk?: SubResource;
  vhd?: { uri?: string };
  [key: string]: unknown;
}

export interface ArmInstanceViewStatus {
  code?: string;
  displayStatus?: string;
  [key: string]: unknown;
}

export type ArmVirtualMachine = ArmResource<{
  hardwareProfile?: { vmSize?: string; [key: string]: unknown };
  storageProfile?: { osDisk?: ArmVmDisk; dataDisks?: ArmVmDisk[]; [key: string]: unknown };
  networkProfile?: {
    networkInterfaces?: (SubResource & { properties?: { primary?: boolean; [key: string]: unknown } })[];
    [key: string]: unknown;
  };
  availabilitySet?: SubResource;
  instanceView?: { statuses?: ArmInstanceViewStatus[]; [key: string]: unknown };
  [key: string]: unknown;
}>;

export type ArmDisk = ArmResource<{
  diskSizeGB?: number;
  diskSizeBytes?: number;
  osType?: string;
  /** `ActiveSAS` while an access grant (beginGetAccess) is open; `Attached`, `Unattached`, … */
  diskState?: string;
  /** Snapshots only. */
  incremental?: boolean;
  creationData?: {
    createOption?: string;
    sourceUri?: string;
    sourceResourceId?: string;
    storageAccountId?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}>;
