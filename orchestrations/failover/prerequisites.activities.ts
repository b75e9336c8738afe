/**
 * "Prerequisites check" of a failover: the item is this job's, has its target settings and the
 * source VM's size and network (an item made before tidemark kept them reads them from the source
 * fabric), and the target VM name is free or the item's own. Decides whether this run changes the
 * point of a failed-over VM and whether the source region answers. Reads only.
 */
import { checkClaimed } from '../../shared/jobs/claims';
import { TidemarkError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import type { ProtectedItem, SourceVmInfo } from '../../shared/protectedItems';
import { probeRegion, type RegionHealth } from '../../shared/regionHealth';
import { checkTargetVmFree, failoverTargetVm, itemId } from '../../shared/workflows/failoverTarget';
import { type WorkflowServices, workflowServices } from '../../shared/workflows/services';
import type { ClaimedRef } from '../claimedJob';
import type { FailoverPlan } from './types';

const PROBE_TIMEOUT_MS = 3_000;

/** The source VM's size and primary NIC from the source fabric, for items made before `sourceVm`. */
async function readSourceVm(
  s: WorkflowServices,
  item: ProtectedItem,
  region: string,
  probe: RegionHealth,
): Promise<SourceVmInfo> {
  const vmId = itemId(item);
  const unknown = (why: string): TidemarkError =>
    new TidemarkError(
      'Conflict',
      `The protected item of VM ${vmId} predates the record of the source VM's size and network, and ${why}, so the failed-over VM can't be sized and placed.`,
      { hint: `Fail over once the source VM can be read in ${region} again.`, details: { vm: vmId, region } },
    );
  if (!probe.reachable) throw unknown(`${region} does not answer (${probe.error ?? 'no answer'})`);
  const store = s.fabric.store(region);
  const vm = await store.virtualMachines.get(item.resourceGroup, item.vm);
  if (!vm) throw unknown(`the source VM no longer exists in ${region}`);
  const nic = vm.nics[0] ? await store.networkInterfaces.get(vm.resourceGroup, vm.nics[0]) : undefined;
  if (!nic) throw unknown('the source VM has no network interface');
  return {
    region: vm.region,
    size: vm.size,
    vnet: { resourceGroup: nic.subnet.resourceGroup, name: nic.subnet.vnet },
    subnet: nic.subnet.subnet,
    privateIp: nic.privateIp,
    ...(vm.availabilitySet ? { availabilitySet: vm.availabilitySet } : {}),
  };
}

export async function checkFailoverPrerequisites(ref: ClaimedRef, log: Logger): Promise<FailoverPlan> {
  const s = workflowServices(ref.direction);
  const item = checkClaimed(await s.items.get(ref.resourceGroup, ref.vm), ref, ref.jobId);
  const vmId = itemId(item);
  const target = item.target;
  if (!target) {
    throw new TidemarkError(
      'Conflict',
      `The protected item of VM ${vmId} has no target settings, so there is nowhere to fail over to.`,
      { hint: 'Disable replication and enable it again; enabling records the target.' },
    );
  }
  if (item.disks.length === 0) {
    throw new TidemarkError('Conflict', `The protected item of VM ${vmId} lists no disks.`, {
      hint: 'Disable replication and enable it again.',
    });
  }
  const sourceRegion = s.fabric.regions.get(s.config.source.name).name;
  const targetRegion = s.fabric.regions.get(s.config.target.name).name;
  const probe = await probeRegion(s.config.source, PROBE_TIMEOUT_MS);
  const sourceVm = item.sourceVm ?? (await readSourceVm(s, item, sourceRegion, probe));
  const changingPoint = item.activeJob?.previousState === 'FailedOver';
  if (changingPoint && !item.failover) {
    throw new TidemarkError(
      'Conflict',
      `VM ${vmId} is FailedOver but its protected item has no record of the failover, so its recovery point can't be changed.`,
      { hint: 'Commit the failover, or disable replication.' },
    );
  }
  const targetVm = changingPoint ? item.failover!.vm : failoverTargetVm({ ...item, target }, targetRegion);
  const existing = await s.fabric
    .store(targetVm.region)
    .virtualMachines.get(targetVm.resourceGroup, targetVm.name);
  checkTargetVmFree(item, existing);
  log.info('Failover planned', {
    vm: vmId,
    targetVm: `${targetVm.region}/${targetVm.resourceGroup}/${targetVm.name}`,
    changingPoint,
    sourceReachable: probe.reachable,
  });
  return {
    vmId,
    sourceRegion,
    targetRegion,
    sourceVm,
    target,
    disks: item.disks,
    targetVm,
    changingPoint,
    ...(changingPoint ? { previous: item.failover } : {}),
    sourceReachable: probe.reachable,
    ...(probe.error ? { sourceError: probe.error } : {}),
  };
}
