/**
 * VMs in ARM. The record maps to a VM like this:
 *
 *   size           properties.hardwareProfile.vmSize
 *   powerState     the instance view's `PowerState/…` status (GET with `$expand=instanceView`):
 *                  running, starting → Running; stopped, stopping → Stopped; deallocated,
 *                  deallocating → Deallocated; none or unknown → Stopped
 *   nics           networkProfile.networkInterfaces (names in the VM's group; primary first)
 *   disks          storageProfile: lun 0 is the OS disk, lun n + 1 is data disk lun n. Each is a
 *                  managed disk: `blob.name` is its resource id, `blob.container` is `managed-disks`
 *                  and `blob.account` is unused. (A VM with unmanaged disks reads as its VHD blobs;
 *                  tidemark writes only managed ones.)
 *   availabilitySet  properties.availabilitySet (a set in the VM's group)
 *
 * A put attaches the disks the record names (`createOption: Attach`), keeps every other property
 * ARM has, is sent with `If-Match` (`If-None-Match: *` when creating), and then starts, powers off
 * or deallocates the VM to reach the record's power state; each step is awaited. ARM starts a VM it
 * creates. Swapping the OS disk needs the VM stopped first, as ARM says.
 */
import { TidemarkError } from '../../errors';
import { checkRegion, checkVirtualMachine } from '../recordChecks';
import type { BlobRef, PowerState, VirtualMachine, VmDisk } from '../types';
import { ArmCollection, type Model } from './armCollection';
import { API_VERSIONS } from './apiVersions';
import { idKey, parseResourceId, PROVIDERS, refFromId, resourceId } from './armIds';
import {
  type ArmContext,
  applyTags,
  canonicalJson,
  checkWrite,
  mapLimit,
  setIfChanged,
  splitTags,
  writable,
} from './armRecords';
import type { ArmDisk, ArmVirtualMachine, ArmVmDisk } from './armTypes';

const GiB = 1024 ** 3;

/** `blob.container` of a VM disk that is a managed disk (its `blob.name` is the disk's resource id). */
export const MANAGED_DISK_CONTAINER = 'managed-disks';

const POWER_CODES: Record<string, PowerState> = {
  running: 'Running',
  starting: 'Running',
  stopped: 'Stopped',
  stopping: 'Stopped',
  deallocated: 'Deallocated',
  deallocating: 'Deallocated',
};

/** The VM's power state from its instance view. */
export function powerStateOf(raw: ArmVirtualMachine): PowerState {
  const code = raw.properties?.instanceView?.statuses
    ?.map((s) => s.code?.toLowerCase() ?? '')
    .find((c) => c.startsWith('powerstate/'));
  return (code && POWER_CODES[code.slice('powerstate/'.length)]) || 'Stopped';
}

/** The action that brings a VM to `state`. */
const POWER_ACTIONS: Record<PowerState, string> = {
  Running: 'start',
  Stopped: 'powerOff',
  Deallocated: 'deallocate',
};

/** A VHD's URL as a blob: `https://{account}.blob.…/{container}/{name}`. */
function vhdBlob(region: string, uri: string): BlobRef {
  const url = new URL(uri);
  const [container = '', ...name] = url.pathname.replace(/^\//, '').split('/');
  return { region, account: url.hostname.split('.')[0], container, name: decodeURIComponent(name.join('/')) };
}

export class ArmVirtualMachines extends ArmCollection<VirtualMachine, ArmVirtualMachine> {
  constructor(ctx: ArmContext) {
    super(ctx, {
      type: PROVIDERS.virtualMachines,
      apiVersion: API_VERSIONS.compute,
      label: 'VM',
      check: checkVirtualMachine,
      createOnly: true,
    });
  }

  protected override getQuery(): Record<string, string> {
    return { $expand: 'instanceView' };
  }

  async #disk(id: string): Promise<ArmDisk | undefined> {
    return this.client.get<ArmDisk>(id, API_VERSIONS.disks);
  }

  async #vmDisk(raw: ArmVmDisk, lun: number): Promise<VmDisk> {
    const id = raw.managedDisk?.id;
    // The VM shows whole GiB; a disk imported or uploaded from a VHD may be smaller (a whole number
    // of MiB), and only the disk's own diskSizeBytes says so. Replicas must be the exact size.
    const disk = id ? await this.#disk(id) : undefined;
    const gb = raw.diskSizeGB ?? disk?.properties?.diskSizeGB;
    const sizeBytes = disk?.properties?.diskSizeBytes ?? (gb === undefined ? undefined : gb * GiB);
    const blob: BlobRef =
      id || !raw.vhd?.uri
        ? { region: this.ctx.region, container: MANAGED_DISK_CONTAINER, name: id ?? '' }
        : vhdBlob(this.ctx.region, raw.vhd.uri);
    const osType = lun === 0 && (raw.osType === 'Linux' || raw.osType === 'Windows') ? raw.osType : undefined;
    return {
      name: raw.name ?? parseResourceId(id)?.name ?? '',
      lun,
      sizeBytes: sizeBytes ?? 0,
      blob,
      ...(osType ? { osType } : {}),
    };
  }

  protected async toModel(raw: ArmVirtualMachine): Promise<Model<VirtualMachine>> {
    const parsed = parseResourceId(raw.id);
    const p = raw.properties ?? {};
    const storage = p.storageProfile ?? {};
    const disks: VmDisk[] = [];
    if (storage.osDisk) disks.push(await this.#vmDisk(storage.osDisk, 0));
    const data = [...(storage.dataDisks ?? [])].sort((a, b) => (a.lun ?? 0) - (b.lun ?? 0));
    for (const d of data) disks.push(await this.#vmDisk(d, (d.lun ?? 0) + 1));
    const nics = [...(p.networkProfile?.networkInterfaces ?? [])]
      .sort((a, b) => Number(b.properties?.primary ?? false) - Number(a.properties?.primary ?? false))
      .map((n) => parseResourceId(n.id)?.name ?? '');
    const avset = parseResourceId(p.availabilitySet?.id)?.name;
    const tags = splitTags(raw.tags).user;
    return {
      resourceGroup: parsed?.resourceGroup ?? '',
      name: raw.name ?? parsed?.name ?? '',
      region: this.ctx.region,
      size: p.hardwareProfile?.vmSize ?? '',
      powerState: powerStateOf(raw),
      nics,
      disks,
      ...(avset ? { availabilitySet: avset } : {}),
      ...(Object.keys(tags).length ? { tags } : {}),
    };
  }

  override async list(resourceGroup?: string): Promise<VirtualMachine[]> {
    // A list has no instance views: each VM is read with its own.
    const raws = await this.listRaw(resourceGroup);
    const vms = await mapLimit(raws, 8, async (raw) => {
      const ref = parseResourceId(raw.id);
      const full = ref ? await this.readRaw(ref.resourceGroup, ref.name) : raw;
      return full ? this.withVersion(full) : undefined;
    });
    return vms.filter((vm): vm is VirtualMachine => vm !== undefined);
  }

  protected writableOf(current: ArmVirtualMachine): ArmVirtualMachine {
    const body = writable(current, ['instanceView', 'vmId', 'timeCreated']);
    delete body.resources;
    return body;
  }

  /** The managed disk id of a record's disk; InvalidArgument when its blob is not one. */
  #managedDiskId(vm: VirtualMachine, disk: VmDisk): string {
    const id = disk.blob.name;
    try {
      refFromId(id, PROVIDERS.disks, `Disk ${disk.name} of VM ${vm.name}: blob.name`);
    } catch (err) {
      throw new TidemarkError(
        'InvalidArgument',
        `Disk ${disk.name} of VM ${vm.name} is not a managed disk: in the ARM fabric, a disk's blob.name is the managed disk's resource id (${JSON.stringify(id)} is not one).`,
        { cause: err, hint: 'Create the managed disk first (createManagedDiskFromBlob) and name its id.' },
      );
    }
    return id;
  }

  async #osDisk(vm: VirtualMachine, disk: VmDisk, existing: ArmVmDisk | undefined): Promise<ArmVmDisk> {
    const id = this.#managedDiskId(vm, disk);
    if (existing?.managedDisk?.id && idKey(existing.managedDisk.id) === idKey(id)) return existing;
    const managed = await this.#disk(id);
    if (!managed) {
      throw new TidemarkError(
        'NotFound',
        `Managed disk ${id} (the OS disk of VM ${vm.name}) does not exist.`,
        {
          details: { disk: id },
        },
      );
    }
    const osType = managed.properties?.osType ?? existing?.osType;
    return {
      ...(osType ? { osType } : {}),
      name: parseResourceId(id)!.name,
      createOption: 'Attach',
      ...(existing?.caching ? { caching: existing.caching } : {}),
      managedDisk: { id },
    };
  }

  protected async toBody(
    vm: VirtualMachine,
    base: ArmVirtualMachine | undefined,
    _current: ArmVirtualMachine | undefined,
  ): Promise<ArmVirtualMachine> {
    const os = vm.disks.find((d) => d.lun === 0);
    if (!os) {
      throw new TidemarkError(
        'InvalidArgument',
        `VM ${vm.name} has no disk at lun 0; an Azure VM needs its OS disk there.`,
      );
    }
    const body: ArmVirtualMachine = base ?? { location: this.ctx.region, properties: {} };
    const own = splitTags(base?.tags).own;
    applyTags(body, vm.tags, own);
    const p = (body.properties ??= {});
    setIfChanged(p, 'hardwareProfile', { ...(p.hardwareProfile ?? {}), vmSize: vm.size });

    const storage = { ...(p.storageProfile ?? {}) };
    setIfChanged(storage, 'osDisk', await this.#osDisk(vm, os, storage.osDisk));
    const have = storage.dataDisks ?? [];
    const dataDisks = vm.disks
      .filter((d) => d.lun > 0)
      .sort((a, b) => a.lun - b.lun)
      .map((d): ArmVmDisk => {
        const id = this.#managedDiskId(vm, d);
        const existing = have.find((h) => h.lun === d.lun - 1);
        if (existing?.managedDisk?.id && idKey(existing.managedDisk.id) === idKey(id)) return existing;
        return {
          lun: d.lun - 1,
          name: parseResourceId(id)!.name,
          createOption: 'Attach',
          managedDisk: { id },
        };
      });
    setIfChanged(storage, 'dataDisks', dataDisks);
    setIfChanged(p, 'storageProfile', storage);

    const haveNics = p.networkProfile?.networkInterfaces ?? [];
    const nics = vm.nics.map((name, i) => {
      const id = resourceId(this.ctx.subscriptionId, vm.resourceGroup, PROVIDERS.networkInterfaces, name);
      const existing = haveNics.find((n) => n.id && idKey(n.id) === idKey(id));
      if (existing && (existing.properties?.primary ?? false) === (i === 0)) return existing;
      return { ...(existing ?? { id }), properties: { ...(existing?.properties ?? {}), primary: i === 0 } };
    });
    setIfChanged(p, 'networkProfile', { ...(p.networkProfile ?? {}), networkInterfaces: nics });

    if (vm.availabilitySet === undefined) {
      delete p.availabilitySet;
    } else {
      const id = resourceId(
        this.ctx.subscriptionId,
        vm.resourceGroup,
        PROVIDERS.availabilitySets,
        vm.availabilitySet,
      );
      const existing = p.availabilitySet?.id;
      if (!existing || idKey(existing) !== idKey(id)) p.availabilitySet = { id };
    }
    return body;
  }

  /** Starts, powers off or deallocates the VM, awaited. */
  async setPowerState(resourceGroup: string, name: string, state: PowerState): Promise<void> {
    await this.client.post(`${this.path(resourceGroup, name)}/${POWER_ACTIONS[state]}`, this.kind.apiVersion);
  }

  start(resourceGroup: string, name: string): Promise<void> {
    return this.setPowerState(resourceGroup, name, 'Running');
  }

  powerOff(resourceGroup: string, name: string): Promise<void> {
    return this.setPowerState(resourceGroup, name, 'Stopped');
  }

  deallocate(resourceGroup: string, name: string): Promise<void> {
    return this.setPowerState(resourceGroup, name, 'Deallocated');
  }

  override async put(vm: VirtualMachine): Promise<VirtualMachine> {
    this.kind.check(vm);
    checkRegion(this.ctx.region, vm.region, `VM ${vm.name}`);
    const current = await this.readRaw(vm.resourceGroup, vm.name);
    const what = this.describe(vm.resourceGroup, vm.name);
    const conditions = await checkWrite(this.ctx, what, current, vm.etag, () => this.version(current!), {
      ifNoneMatch: true,
    });
    const base = current && this.writableOf(current);
    const body = await this.toBody(vm, base && structuredClone(base), current);
    const path = this.path(vm.resourceGroup, vm.name);
    const changed = !base || canonicalJson(body) !== canonicalJson(base);
    if (changed) await this.client.put<ArmVirtualMachine>(path, this.kind.apiVersion, body, conditions);
    // ARM starts a VM it creates.
    const power = current ? powerStateOf(current) : 'Running';
    if (power !== vm.powerState) await this.setPowerState(vm.resourceGroup, vm.name, vm.powerState);
    else if (!changed) return this.withVersion(current!);
    const saved = await this.readRaw(vm.resourceGroup, vm.name);
    if (!saved) {
      throw new TidemarkError('Conflict', `VM ${what.name} was deleted while it was being written.`, {
        retryable: true,
      });
    }
    return this.withVersion(saved);
  }
}
