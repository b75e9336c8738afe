/** A VM's disks as a protected item keeps them: lun, name, size, where the source disk is, its OS. */
import { type DiskReader, localDiskRef, type PublishedDisk, type PublishOptions } from '../fabric/diskAccess';
import type { RegionalFabric } from '../fabric/regionalFabric';
import type { BlobRef, VirtualMachine, VmDisk } from '../fabric/types';
import type { ReplicatedDiskInfo } from '../protectedItems';

export function replicatedDisk(d: VmDisk): ReplicatedDiskInfo {
  return {
    lun: d.lun,
    name: d.name,
    sizeBytes: d.sizeBytes,
    blob: d.blob,
    ...(d.osType ? { osType: d.osType } : {}),
  };
}

export function replicatedDisks(vm: VirtualMachine): ReplicatedDiskInfo[] {
  return vm.disks.map(replicatedDisk);
}

/** Read access to a protected item's source disk (its recorded blob, else the local `disks` blob). */
export function openReplicatedDisk(
  fabric: RegionalFabric,
  region: string,
  vm: { resourceGroup: string; vm: string },
  disk: ReplicatedDiskInfo,
  reader: string,
): Promise<DiskReader> {
  return fabric
    .diskAccess(region)
    .openRead(disk.blob ?? localDiskRef(region, vm.resourceGroup, vm.vm, disk.name), reader);
}

/** The OS disk's operating system, for disks made from these (Azure boots an imported disk by it). */
export function publishOptions(disks: readonly ReplicatedDiskInfo[] | undefined): PublishOptions {
  const osType = disks?.find((d) => d.lun === 0)?.osType;
  return osType ? { osType } : {};
}

/** A disk a failover or test failover made, as its job keeps it (in the orchestration's history). */
export interface MadeDisk {
  lun: number;
  name: string;
  /** The disk's `blob.name` (a blob locally, a managed disk id in Azure). */
  blobName: string;
  sizeBytes: number;
  /** What the VM record names; absent in histories written before it was kept (local `disks`). */
  blob?: BlobRef;
}

export function madeDisk(d: PublishedDisk): MadeDisk {
  return { lun: d.lun, name: d.name, blobName: d.blob.name, sizeBytes: d.sizeBytes, blob: d.blob };
}
