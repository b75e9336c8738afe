/**
 * VMs as the API shows them: the fabric record joined with its NICs, the NBD endpoint its local
 * agent publishes (only while the VM is Running) and its protected item, if replication is enabled.
 */
import { TidemarkError } from '../errors';
import type { ProtectedItemStore } from '../protectedItems';
import type { AgentEndpoint } from './agentEndpoints';
import { nameKey } from './names';
import { protectionView, type ProtectionView } from './protection';
import type { RegionalFabric } from './regionalFabric';
import { findSubnet } from './virtualNetworks';
import type { BlobRef, PowerState, Tags, VirtualMachine } from './types';
import type { VmService } from './vmService';

export interface NbdView {
  host: string;
  port: number;
  /** One per disk in lun order; the default export (the empty name) is the first. */
  exports: string[];
  /** A ready-to-use URI per export, for qemu-io, nbdcopy, nbdinfo or fio. */
  uris: Record<string, string>;
}

export interface NicView {
  name: string;
  resourceGroup: string;
  privateIp: string;
  vnet: string;
  subnet: string;
  addressPrefix: string | null;
}

export interface VmDiskView {
  name: string;
  lun: number;
  sizeBytes: number;
  sizeGiB: number;
  blob: BlobRef;
}

export interface VmDetail {
  resourceGroup: string;
  name: string;
  region: string;
  size: string;
  powerState: PowerState;
  availabilitySet: string | null;
  tags: Tags;
  nics: NicView[];
  disks: VmDiskView[];
  nbd: NbdView | null;
  protectedItem: ProtectionView | null;
}

export interface VmSummary {
  resourceGroup: string;
  name: string;
  region: string;
  size: string;
  powerState: PowerState;
  disks: number;
  nbd: NbdView | null;
  protection: Pick<ProtectionView, 'state' | 'health' | 'rpoSeconds'> | null;
}

export interface VmViewSources {
  fabric: RegionalFabric;
  vms: VmService;
  /** The target region's protected items; absent when there is none to read. */
  protectedItems?: ProtectedItemStore;
  now: number;
}

function vmKey(resourceGroup: string, name: string): string {
  return `${nameKey(resourceGroup)}/${nameKey(name)}`;
}

export function nbdView(vm: VirtualMachine, endpoint: AgentEndpoint | undefined): NbdView | null {
  if (!endpoint || vm.powerState !== 'Running') return null;
  const base = `nbd://${endpoint.host}:${endpoint.port}/`;
  const uris = Object.fromEntries(endpoint.exports.map((e) => [e, `${base}${encodeURIComponent(e)}`]));
  return { host: endpoint.host, port: endpoint.port, exports: [...endpoint.exports], uris };
}

export async function describeVm(src: VmViewSources, resourceGroup: string, name: string): Promise<VmDetail> {
  const vm = await src.vms.findVm(resourceGroup, name);
  if (!vm) {
    throw new TidemarkError('NotFound', `VM ${resourceGroup}/${name} does not exist in any region.`, {
      hint: 'Create it with PUT /api/vms/{rg}/{vm}, or list VMs with GET /api/vms.',
      details: { resourceGroup, vm: name },
    });
  }
  const store = src.fabric.store(vm.region);
  const [nics, endpoint, item] = await Promise.all([
    Promise.all(vm.nics.map((n) => store.networkInterfaces.get(vm.resourceGroup, n))),
    src.fabric.endpoints(vm.region).get(vm.resourceGroup, vm.name),
    src.protectedItems?.get(vm.resourceGroup, vm.name),
  ]);
  const nicViews: NicView[] = [];
  for (const nic of nics) {
    if (!nic) continue;
    const vnet = await store.virtualNetworks.get(nic.subnet.resourceGroup, nic.subnet.vnet);
    nicViews.push({
      name: nic.name,
      resourceGroup: nic.resourceGroup,
      privateIp: nic.privateIp,
      vnet: nic.subnet.vnet,
      subnet: nic.subnet.subnet,
      addressPrefix: (vnet && findSubnet(vnet, nic.subnet.subnet)?.addressPrefix) ?? null,
    });
  }
  return {
    resourceGroup: vm.resourceGroup,
    name: vm.name,
    region: vm.region,
    size: vm.size,
    powerState: vm.powerState,
    availabilitySet: vm.availabilitySet ?? null,
    tags: vm.tags ?? {},
    nics: nicViews,
    disks: vm.disks.map((d) => ({
      name: d.name,
      lun: d.lun,
      sizeBytes: d.sizeBytes,
      sizeGiB: d.sizeBytes / 1024 ** 3,
      blob: d.blob,
    })),
    nbd: nbdView(vm, endpoint),
    protectedItem: item ? protectionView(item, src.now) : null,
  };
}

/** Every VM of `region` (or of every region, source first), by group and name, with NBD endpoint and protection. */
export async function listVmSummaries(src: VmViewSources, region?: string): Promise<VmSummary[]> {
  const regions = region === undefined ? src.fabric.names() : [src.fabric.regions.get(region).name];
  const [perRegion, items] = await Promise.all([
    Promise.all(
      regions.map(async (r) => {
        const [vms, endpoints] = await Promise.all([
          src.fabric.store(r).virtualMachines.list(),
          src.fabric.endpoints(r).list(),
        ]);
        const byVm = new Map(endpoints.map((e) => [vmKey(e.resourceGroup, e.vm), e]));
        return vms
          .sort((a, b) => vmKey(a.resourceGroup, a.name).localeCompare(vmKey(b.resourceGroup, b.name)))
          .map((vm) => ({ vm, endpoint: byVm.get(vmKey(vm.resourceGroup, vm.name)) }));
      }),
    ),
    src.protectedItems?.list() ?? Promise.resolve([]),
  ]);
  const itemByVm = new Map(items.map((i) => [vmKey(i.resourceGroup, i.vm), i]));
  return perRegion.flat().map(({ vm, endpoint }) => {
    const item = itemByVm.get(vmKey(vm.resourceGroup, vm.name));
    const view = item && protectionView(item, src.now);
    return {
      resourceGroup: vm.resourceGroup,
      name: vm.name,
      region: vm.region,
      size: vm.size,
      powerState: vm.powerState,
      disks: vm.disks.length,
      nbd: nbdView(vm, endpoint),
      protection: view ? { state: view.state, health: view.health, rpoSeconds: view.rpoSeconds } : null,
    };
  });
}
