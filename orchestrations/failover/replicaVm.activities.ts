/**
 * "Starting the replica virtual machine": the VM record in the target fabric (size from the source
 * VM, availability set, the NIC, the disks of the point), Running, so the region's VM runner starts
 * its agent. Created or updated in place, ETag-conditional: a re-run, a change of point or a
 * failback updates the one VM, never makes a second. Then the claim ends: FailedOver, apply off (the
 * recovery points stay until commit), and the failover's record.
 */
import { isTidemarkError, TidemarkError } from '../../shared/errors';
import { ensureAvailabilitySet } from '../../shared/fabric/availabilitySets';
import type { FabricStore } from '../../shared/fabric/fabricStore';
import type { VirtualMachine, VmDisk } from '../../shared/fabric/types';
import { checkClaimed, releaseItem } from '../../shared/jobs/claims';
import type { Logger } from '../../shared/logger';
import type { FailoverRecord, ProtectedItem } from '../../shared/protectedItems';
import { CONTAINERS } from '../../shared/storageNames';
import { checkTargetVmFree, FAILOVER_TAG } from '../../shared/workflows/failoverTarget';
import { workflowServices } from '../../shared/workflows/services';
import type { StartVmInput } from './types';

const ATTEMPTS = 10;

async function putReplicaVm(
  store: FabricStore,
  item: ProtectedItem,
  input: StartVmInput,
): Promise<VirtualMachine> {
  const { plan, nic, disks } = input;
  const { resourceGroup, name } = plan.targetVm;
  const vmDisks: VmDisk[] = disks.disks.map((d) => ({
    name: d.name,
    lun: d.lun,
    sizeBytes: d.sizeBytes,
    blob: d.blob ?? { region: store.region, container: CONTAINERS.disks, name: d.blobName },
  }));
  for (let attempt = 1; ; attempt++) {
    const existing = await store.virtualMachines.get(resourceGroup, name);
    checkTargetVmFree(item, existing);
    const tags = { ...existing?.tags, [FAILOVER_TAG]: plan.vmId };
    try {
      if (existing) {
        return await store.virtualMachines.put({ ...existing, powerState: 'Running', disks: vmDisks, tags });
      }
      const avset = plan.target.availabilitySet
        ? await ensureAvailabilitySet(store, resourceGroup, plan.target.availabilitySet)
        : undefined;
      return await store.virtualMachines.put({
        resourceGroup,
        name,
        region: store.region,
        size: plan.sourceVm.size,
        powerState: 'Running',
        nics: [nic.nic.name],
        disks: vmDisks,
        ...(avset ? { availabilitySet: avset.name } : {}),
        tags,
      });
    } catch (err) {
      // Changed or created meanwhile (by a concurrent run of this activity): read it again.
      if (!isTidemarkError(err, 'Conflict') || attempt >= ATTEMPTS) throw err;
    }
  }
}

export async function startReplicaVm(input: StartVmInput, log: Logger): Promise<{ at: number }> {
  const { ref, plan, disks } = input;
  const s = workflowServices(ref.direction);
  const current = await s.items.get(ref.resourceGroup, ref.vm);
  // Released by an earlier run of this activity whose answer was lost: nothing left to do.
  if (current?.failover?.jobId === ref.jobId && current.activeJob?.id !== ref.jobId) {
    return { at: current.failover.at };
  }
  const item = checkClaimed(current, ref, ref.jobId);
  const vm = await putReplicaVm(s.fabric.store(plan.targetVm.region), item, input);
  const at = Date.now();
  const record: FailoverRecord = {
    jobId: ref.jobId,
    choice: input.choice,
    pointId: disks.point.id,
    pointTime: disks.replayedThrough.time,
    vm: { region: vm.region, resourceGroup: vm.resourceGroup, name: vm.name },
    at,
    ...(input.note ? { note: input.note } : {}),
  };
  const released = await releaseItem(s.items, ref, ref.jobId, () => ({
    state: 'FailedOver',
    applyEnabled: false,
    failover: record,
  }));
  if (!released) {
    throw new TidemarkError(
      'Conflict',
      `Job ${ref.jobId} lost VM ${plan.vmId} before it could record the failover.`,
      {
        hint: 'Look at the VM and fail over again if it is still needed.',
      },
    );
  }
  log.info('Failed over', {
    vm: plan.vmId,
    targetVm: `${vm.region}/${vm.resourceGroup}/${vm.name}`,
    point: record.pointId,
  });
  return { at };
}
