/** A VM's disks as a protected item keeps them: lun, name, size, where the source disk is, its OS. */
import type { VirtualMachine, VmDisk } from '../fabric/types';
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
