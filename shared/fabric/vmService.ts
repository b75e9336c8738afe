/**
 * Creating and changing VMs in the local fabric, as `PUT /api/vms/{rg}/{vm}` does.
 *
 * A new VM gets what it names, created when missing, as `az vm create` does: its resource group, its
 * VNet (10.0.0.0/16) and subnet (the next free /24), its availability set, a NIC `{vm}-nic` with the
 * next free private IP, and its disks as empty page blobs `disks/{rg}/{vm}/{disk}` (lun = position;
 * disk blobs already there with the same size are attached as they are). Everything that can refuse
 * the request is checked before the first write; the VM record is written last, so a VM is only seen
 * once it is complete, and a retried PUT finishes what a failed one began.
 *
 * An existing VM may change its size and power state and get new disks. Removing or resizing a disk,
 * or moving the VM to another subnet, availability set or region, is a Conflict saying why. An
 * identical PUT changes nothing.
 */
import { isTidemarkError, TidemarkError } from '../errors';
import { createVmDisk, listVmDisks, MAX_LUN, type VmDiskInfo } from '../vmDisks';
import { CONTAINERS } from '../storageNames';
import { ensureAvailabilitySet } from './availabilitySets';
import { checkName, nameKey, sameName } from './names';
import { ensureNic, nicMismatch, releasePrivateIp } from './networkInterfaces';
import type { RegionalFabric } from './regionalFabric';
import { checkGroupRegion, ensureResourceGroup, findResourceGroup } from './resourceGroups';
import type { PowerState, SubnetRef, VirtualMachine, VmDisk } from './types';
import { ensureSubnet, plannedSubnetPrefix, subnetKey } from './virtualNetworks';
import { checkVmSpec, type VmDiskSpec, type VmPutInput, type VmSpec } from './vmSpec';

export interface VmPutResult {
  vm: VirtualMachine;
  created: boolean;
  /** False for a PUT that matched the VM as it was (nothing was written). */
  changed: boolean;
}

export interface DeleteVmOptions {
  /** Also delete the VM's NICs and free their addresses (Azure's deleteOption `Delete`). */
  deleteNics?: boolean;
  /** Also delete the VM's disk blobs. */
  deleteDisks?: boolean;
}

/** The NIC a new VM gets. */
export function nicNameFor(vm: string): string {
  return `${vm}-nic`;
}

function conflict(message: string, details: Record<string, unknown> = {}, hint?: string): TidemarkError {
  return new TidemarkError('Conflict', message, { details, hint });
}

function sizeText(bytes: number): string {
  const MiB = 1024 ** 2;
  return bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes} bytes`;
}

export class VmService {
  constructor(private readonly fabric: RegionalFabric) {}

  /** The VM `resourceGroup/name` (any case) in whichever region holds it. */
  async findVm(resourceGroup: string, name: string): Promise<VirtualMachine | undefined> {
    const regions = this.fabric.names();
    const found = await Promise.all(
      regions.map((r) => this.fabric.store(r).virtualMachines.get(resourceGroup, name)),
    );
    return found.find((vm) => vm !== undefined);
  }

  /**
   * `made`: the VM's disks already exist (a test failover made them through the region's disk
   * access, as managed disks in Azure); the VM gets exactly these, and no disk blob is planned or
   * created. Their names and sizes must be the spec's.
   */
  async createOrUpdateVm(input: VmPutInput, made?: { disks: VmDisk[] }): Promise<VmPutResult> {
    const spec = checkVmSpec(input);
    const region = this.fabric.regions.get(spec.region).name;
    const existing = await this.findVm(spec.resourceGroup, spec.name);
    if (existing && existing.region !== region) {
      throw conflict(
        `VM ${existing.resourceGroup}/${existing.name} is in ${existing.region}; a VM cannot move to ${region}.`,
        { region: existing.region },
        'Fail it over to the other region instead.',
      );
    }
    return existing ? this.#update(existing, spec, made) : this.#create(region, spec, made);
  }

  /** Sets a VM's power state (the local VM runner starts or stops its agent accordingly). */
  async setPowerState(resourceGroup: string, name: string, powerState: PowerState): Promise<VirtualMachine> {
    for (let attempt = 1; ; attempt++) {
      const vm = await this.#require(resourceGroup, name);
      if (vm.powerState === powerState) return vm;
      try {
        return await this.fabric.store(vm.region).virtualMachines.put({ ...vm, powerState });
      } catch (err) {
        if (!isTidemarkError(err, 'Conflict') || attempt >= 10) throw err;
      }
    }
  }

  /**
   * Deletes the VM record; its NICs are detached (or deleted with their addresses freed) and its
   * disk blobs kept (or deleted), as Azure's delete options say. False when there was no such VM.
   */
  async deleteVm(resourceGroup: string, name: string, options: DeleteVmOptions = {}): Promise<boolean> {
    const vm = await this.findVm(resourceGroup, name);
    if (!vm) return false;
    const store = this.fabric.store(vm.region);
    await store.virtualMachines.delete(vm.resourceGroup, vm.name, { etag: vm.etag });
    for (const nicName of vm.nics) {
      const nic = await store.networkInterfaces.get(vm.resourceGroup, nicName);
      if (!nic) continue;
      if (options.deleteNics) {
        await store.networkInterfaces.delete(nic.resourceGroup, nic.name);
        await releasePrivateIp(store, nic.subnet, nic);
      } else {
        const { vm: _vm, ...detached } = nic;
        await store.networkInterfaces.put(detached);
      }
    }
    if (options.deleteDisks) {
      const disks = this.fabric.disks(vm.region);
      for (const disk of vm.disks)
        await disks.getBlobClient(disk.blob.name).deleteIfExists({ deleteSnapshots: 'include' });
    }
    return true;
  }

  async #require(resourceGroup: string, name: string): Promise<VirtualMachine> {
    const vm = await this.findVm(resourceGroup, name);
    if (!vm) {
      throw new TidemarkError('NotFound', `VM ${resourceGroup}/${name} does not exist.`, {
        details: { resourceGroup, vm: name },
      });
    }
    return vm;
  }

  async #create(region: string, asked: VmSpec, made?: { disks: VmDisk[] }): Promise<VmPutResult> {
    const store = this.fabric.store(region);
    // The group's name as it was created (names compare case-insensitively, blob paths do not).
    const group = await findResourceGroup(this.fabric, asked.resourceGroup);
    const spec = group ? { ...asked, resourceGroup: group.name } : asked;
    const subnet: SubnetRef = {
      resourceGroup: spec.vnetResourceGroup ?? spec.resourceGroup,
      vnet: spec.vnet,
      subnet: spec.subnet,
    };
    const nicName = checkName('networkInterface', nicNameFor(spec.name));

    // Everything that can refuse the request, before the first write.
    await checkGroupRegion(this.fabric, region, spec.resourceGroup);
    if (!sameName(subnet.resourceGroup, spec.resourceGroup)) {
      await checkGroupRegion(this.fabric, region, subnet.resourceGroup);
    }
    plannedSubnetPrefix(await store.virtualNetworks.get(subnet.resourceGroup, subnet.vnet), subnet.subnet);
    const oldNic = await store.networkInterfaces.get(spec.resourceGroup, nicName);
    const mismatch = oldNic && nicMismatch(oldNic, subnet, spec.name);
    if (mismatch) throw conflict(`${mismatch}; VM ${spec.name} needs it.`, { nic: nicName });
    const disks = made ? checkMadeDisks(spec, made.disks) : await this.#planDisks(region, spec);

    await ensureResourceGroup(this.fabric, region, spec.resourceGroup);
    if (!sameName(subnet.resourceGroup, spec.resourceGroup)) {
      await ensureResourceGroup(this.fabric, region, subnet.resourceGroup);
    }
    const ensured = await ensureSubnet(store, subnet);
    const canonicalSubnet = {
      resourceGroup: ensured.vnet.resourceGroup,
      vnet: ensured.vnet.name,
      subnet: ensured.subnet.name,
    };
    const avset =
      spec.availabilitySet && (await ensureAvailabilitySet(store, spec.resourceGroup, spec.availabilitySet));
    const nic = await ensureNic(
      store,
      { resourceGroup: spec.resourceGroup, name: nicName, subnet: canonicalSubnet, vm: spec.name },
      { preferred: spec.privateIp, fromEnd: spec.allocateIpFromEnd },
    );
    if (!made) await this.#createDisks(region, spec, disks);
    const vm: VirtualMachine = {
      resourceGroup: spec.resourceGroup,
      name: spec.name,
      region,
      size: spec.size,
      powerState: spec.powerState ?? 'Running',
      nics: [nic.name],
      disks,
      ...(avset ? { availabilitySet: avset.name } : {}),
      ...(spec.tags ? { tags: spec.tags } : {}),
    };
    try {
      return { vm: await store.virtualMachines.put(vm), created: true, changed: true };
    } catch (err) {
      // Created meanwhile by a concurrent PUT: this one is then an update of it.
      const again = isTidemarkError(err, 'Conflict')
        ? await store.virtualMachines.get(vm.resourceGroup, vm.name)
        : undefined;
      if (again) return this.#update(again, spec, made);
      throw err;
    }
  }

  async #update(existing: VirtualMachine, spec: VmSpec, made?: { disks: VmDisk[] }): Promise<VmPutResult> {
    const store = this.fabric.store(existing.region);
    const id = `${existing.resourceGroup}/${existing.name}`;
    const nic = existing.nics[0]
      ? await store.networkInterfaces.get(existing.resourceGroup, existing.nics[0])
      : undefined;
    const wanted = {
      resourceGroup: spec.vnetResourceGroup ?? spec.resourceGroup,
      vnet: spec.vnet,
      subnet: spec.subnet,
    };
    if (nic && subnetKey(nic.subnet) !== subnetKey(wanted)) {
      throw conflict(
        `VM ${id} is in subnet ${nic.subnet.vnet}/${nic.subnet.subnet}; moving it to ${spec.vnet}/${spec.subnet} is not supported.`,
        { vnet: nic.subnet.vnet, subnet: nic.subnet.subnet },
        'Send the VM’s current vnet and subnet, or create a VM with another name.',
      );
    }
    if (nameKey(existing.availabilitySet ?? '') !== nameKey(spec.availabilitySet ?? '')) {
      const now = existing.availabilitySet
        ? `in availability set ${existing.availabilitySet}`
        : 'in no availability set';
      throw conflict(`VM ${id} is ${now}; Azure cannot change a VM's availability set after it is created.`, {
        availabilitySet: existing.availabilitySet ?? null,
      });
    }
    const madeDisks = made && checkMadeDisks(spec, made.disks);
    const added = madeDisks ? [] : this.#checkDiskChanges(existing, spec);
    const powerState = spec.powerState ?? existing.powerState;
    const tags = spec.tags ?? existing.tags;
    const changed =
      existing.size !== spec.size ||
      powerState !== existing.powerState ||
      added.length > 0 ||
      (madeDisks !== undefined && JSON.stringify(madeDisks) !== JSON.stringify(existing.disks)) ||
      JSON.stringify(tags ?? {}) !== JSON.stringify(existing.tags ?? {});
    if (!changed) return { vm: existing, created: false, changed: false };
    const newDisks = this.#withLuns(added, existing.disks, existing);
    await this.#createDisks(
      existing.region,
      { ...spec, resourceGroup: existing.resourceGroup, name: existing.name },
      newDisks,
    );
    const vm = await store.virtualMachines.put({
      ...existing,
      size: spec.size,
      powerState,
      disks: madeDisks ?? [...existing.disks, ...newDisks],
      ...(tags ? { tags } : {}),
    });
    return { vm, created: false, changed: true };
  }

  /** The disks the PUT adds; Conflict when it drops or resizes one the VM has. */
  #checkDiskChanges(existing: VirtualMachine, spec: VmSpec): VmDiskSpec[] {
    const id = `${existing.resourceGroup}/${existing.name}`;
    for (const disk of existing.disks) {
      const want = spec.disks.find((d) => sameName(d.name, disk.name));
      if (!want) {
        throw conflict(
          `VM ${id} has disk ${disk.name}, which the request leaves out; disks can be added, not removed.`,
          { disk: disk.name },
          'List every disk the VM has, plus the new ones.',
        );
      }
      if (want.sizeBytes !== disk.sizeBytes) {
        throw conflict(
          `Disk ${disk.name} of VM ${id} is ${sizeText(disk.sizeBytes)}; resizing a disk (to ${sizeText(want.sizeBytes)}) is not supported, as it would force a resync of its replica.`,
          { disk: disk.name, sizeBytes: disk.sizeBytes },
        );
      }
    }
    return spec.disks.filter((d) => !existing.disks.some((e) => sameName(e.name, d.name)));
  }

  /** `disks` with the lowest luns not in `taken`, in order. */
  #withLuns(
    disks: readonly VmDiskSpec[],
    taken: readonly VmDisk[],
    vm: { resourceGroup: string; name: string; region: string },
  ): VmDisk[] {
    const used = new Set(taken.map((d) => d.lun));
    let lun = 0;
    return disks.map((d) => {
      while (used.has(lun)) lun++;
      if (lun > MAX_LUN)
        throw new TidemarkError('InvalidArgument', `VM ${vm.name} has no free lun for disk ${d.name}.`);
      used.add(lun);
      return this.#disk(vm, d, lun);
    });
  }

  #disk(vm: { resourceGroup: string; name: string; region: string }, d: VmDiskSpec, lun: number): VmDisk {
    return {
      name: d.name,
      lun,
      sizeBytes: d.sizeBytes,
      blob: {
        region: vm.region,
        container: CONTAINERS.disks,
        name: `${vm.resourceGroup}/${vm.name}/${d.name}`,
      },
    };
  }

  /**
   * A new VM's disks with their luns: disk blobs already under `{rg}/{vm}/` that the request names
   * keep their lun (their size must match); any other blob there is a Conflict, since the VM's
   * agent would serve it as a disk too.
   */
  async #planDisks(region: string, spec: VmSpec): Promise<VmDisk[]> {
    let blobs: VmDiskInfo[];
    try {
      blobs = await listVmDisks(this.fabric.disks(region), spec.resourceGroup, spec.name);
    } catch (err) {
      if (!isTidemarkError(err, 'NotFound')) throw err;
      blobs = [];
    }
    const vm = { resourceGroup: spec.resourceGroup, name: spec.name, region };
    const kept: VmDisk[] = [];
    for (const blob of blobs) {
      const want = spec.disks.find((d) => sameName(d.name, blob.name));
      if (!want) {
        throw conflict(
          `Disk blob ${CONTAINERS.disks}/${blob.blobName} is left from an earlier VM ${spec.resourceGroup}/${spec.name} and the request does not name it.`,
          { blob: blob.blobName },
          `Name disk ${blob.name} (${sizeText(blob.sizeBytes)}) in the request to attach it, or delete the blob.`,
        );
      }
      if (want.sizeBytes !== blob.sizeBytes) {
        throw conflict(
          `Disk blob ${CONTAINERS.disks}/${blob.blobName} exists with ${sizeText(blob.sizeBytes)}, not ${sizeText(want.sizeBytes)}.`,
          { blob: blob.blobName, sizeBytes: blob.sizeBytes },
        );
      }
      kept.push(this.#disk(vm, { name: blob.name, sizeBytes: blob.sizeBytes }, blob.lun));
    }
    const fresh = spec.disks.filter((d) => !kept.some((k) => sameName(k.name, d.name)));
    return [...kept, ...this.#withLuns(fresh, kept, vm)].sort((a, b) => a.lun - b.lun);
  }

  async #createDisks(
    region: string,
    spec: { resourceGroup: string; name: string },
    disks: readonly VmDisk[],
  ): Promise<void> {
    const container = this.fabric.disks(region);
    for (const d of disks)
      await createVmDisk(container, spec.resourceGroup, spec.name, d.name, d.lun, d.sizeBytes);
  }
}

/** Disks made elsewhere, checked against the spec's names and sizes; in lun order. */
function checkMadeDisks(spec: VmSpec, disks: VmDisk[]): VmDisk[] {
  const sorted = [...disks].sort((a, b) => a.lun - b.lun);
  const same =
    sorted.length === spec.disks.length &&
    sorted.every((d) => spec.disks.some((w) => sameName(w.name, d.name) && w.sizeBytes === d.sizeBytes));
  if (!same) {
    throw new TidemarkError(
      'Internal',
      `The disks made for VM ${spec.resourceGroup}/${spec.name} are not the ones its spec names.`,
      { details: { made: sorted.map((d) => d.name), spec: spec.disks.map((d) => d.name) } },
    );
  }
  return sorted;
}
