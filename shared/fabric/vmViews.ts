/**
 * VMs as the API shows them: the fabric record joined with its NICs, the NBD endpoint its local
 * agent publishes (only while the VM is Running) and its protected item, if replication is enabled.
 */
import type { Direction } from '../direction';
import { TidemarkError } from '../errors';
import { BAD_TOKEN, compareText, pageOf } from '../http/paging';
import type { ProtectedItem, ProtectedItemStore, ProtectionTarget, VmRef } from '../protectedItems';
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

/** The last failover of the item: the point it used and the VM it made. */
export interface FailoverView {
  recoveryPointId: string;
  /** Source time the failed-over disks are consistent as of. */
  time: string;
  /** The recovery point as asked: `latest`, `id:rp-1-7`, `time:<ISO>`, ... */
  choice: string;
  targetVm: VmRef;
  /** When the failed-over VM was started. */
  at: string;
  /** Why the choice was changed, if it was. */
  note: string | null;
}

export interface TestFailoverView {
  testVm: VmRef;
  network: { resourceGroup: string; name: string };
  recoveryPointId: string;
}

/** The protected item in the VM detail: the protection view, and what workflows recorded on it. */
export interface ProtectedItemView extends ProtectionView {
  /** forward: the VM replicates from the source region; reverse: a failed-over VM replicating back. */
  direction: Direction;
  target?: ProtectionTarget;
  /** The workflow that holds the item now. */
  activeJob?: { id: string; kind: string };
  failover?: FailoverView;
  testFailover?: TestFailoverView;
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
  protectedItem: ProtectedItemView | null;
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
  /** Items replicating back after a failover (in the source region); a list that fails is left out. */
  reverseItems?: ProtectedItemStore;
  /** Finds a VM's item in either direction (shared/workflows/findItem.ts); else `protectedItems` is read. */
  findItem?: (
    resourceGroup: string,
    vm: string,
  ) => Promise<{ item: ProtectedItem; direction: Direction } | undefined>;
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

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The protection view of `item`, with its direction, target, active job and failover records. */
export function protectedItemView(item: ProtectedItem, direction: Direction, now: number): ProtectedItemView {
  const { target, activeJob, failover, testFailover } = item;
  return {
    ...protectionView(item, now),
    direction,
    ...(target ? { target } : {}),
    ...(activeJob ? { activeJob: { id: activeJob.id, kind: activeJob.kind } } : {}),
    ...(failover
      ? {
          failover: {
            recoveryPointId: failover.pointId,
            time: iso(failover.pointTime),
            choice: failover.choice,
            targetVm: failover.vm,
            at: iso(failover.at),
            note: failover.note ?? null,
          },
        }
      : {}),
    ...(testFailover
      ? {
          testFailover: {
            testVm: testFailover.vm,
            network: testFailover.vnet,
            recoveryPointId: testFailover.pointId,
          },
        }
      : {}),
  };
}

async function findItem(
  src: VmViewSources,
  resourceGroup: string,
  name: string,
): Promise<{ item: ProtectedItem; direction: Direction } | undefined> {
  if (src.findItem) return src.findItem(resourceGroup, name);
  const item = await src.protectedItems?.get(resourceGroup, name);
  return item && { item, direction: 'forward' };
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
  const [nics, endpoint, found] = await Promise.all([
    Promise.all(vm.nics.map((n) => store.networkInterfaces.get(vm.resourceGroup, n))),
    src.fabric.endpoints(vm.region).get(vm.resourceGroup, vm.name),
    findItem(src, vm.resourceGroup, vm.name),
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
    protectedItem: found ? protectedItemView(found.item, found.direction, src.now) : null,
  };
}

/** Group, then name, ignoring case as Azure does, by code unit (the same order in every process). */
function byGroupAndName(
  a: { resourceGroup: string; name: string },
  b: { resourceGroup: string; name: string },
): number {
  return (
    compareText(nameKey(a.resourceGroup), nameKey(b.resourceGroup)) ||
    compareText(nameKey(a.name), nameKey(b.name))
  );
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
          .sort(byGroupAndName)
          .map((vm) => ({ vm, endpoint: byVm.get(vmKey(vm.resourceGroup, vm.name)) }));
      }),
    ),
    Promise.all([
      src.protectedItems?.list() ?? [],
      // The source region may be down: its VMs then show without their reverse items.
      src.reverseItems?.list().catch(() => []) ?? [],
    ]),
  ]);
  const itemByVm = new Map(items.flat().map((i) => [vmKey(i.resourceGroup, i.vm), i]));
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

/** Where a page of VMs ended: the last VM's region, group and name (the list's sort keys). */
export interface VmCursor {
  region: string;
  resourceGroup: string;
  name: string;
}

export interface VmListQuery {
  /** A page's size. */
  top: number;
  /** The last VM of the page before. */
  after?: VmCursor;
  /** Only this region's VMs (any case); every region's when absent. */
  region?: string;
}

export interface VmPage {
  vms: VmSummary[];
  /** The cursor of the next page; null on the last one. */
  next: VmCursor | null;
}

/**
 * One page of the VMs in the order of listVmSummaries: the source region first, then by group and
 * name. A cursor whose region the fabric does not know is InvalidRequest (it is not a token this API
 * gave out).
 */
export async function listVmPage(src: VmViewSources, query: VmListQuery): Promise<VmPage> {
  const order = src.fabric.names();
  const regionIndex = (name: string): number => order.findIndex((r) => r === name.toLowerCase());
  const { after } = query;
  const afterIndex = after ? regionIndex(after.region) : -1;
  if (after && afterIndex < 0) {
    throw new TidemarkError('InvalidRequest', `The query is invalid: continuationToken: ${BAD_TOKEN}.`, {
      details: { errors: [{ path: 'continuationToken', message: BAD_TOKEN }] },
    });
  }
  const vms = await listVmSummaries(src, query.region);
  const isAfter = after
    ? (vm: VmSummary): boolean => {
        const index = regionIndex(vm.region);
        return index > afterIndex || (index === afterIndex && byGroupAndName(vm, after) > 0);
      }
    : undefined;
  const page = pageOf(vms, query.top, isAfter);
  const last = page.last;
  return {
    vms: page.items,
    next: last ? { region: last.region, resourceGroup: last.resourceGroup, name: last.name } : null,
  };
}
