/**
 * "Creating the target disks": the point is resolved once (its id is kept in the orchestration's
 * history, so a re-run uses the same one); a target VM that exists (a change of point, a re-run,
 * a failback) is stopped first and its agent given time to close the disks; then the point (or a
 * time: the point before it plus the journal) is materialized into the VM's disks through the
 * region's disk access (shared/fabric/diskAccess.ts): page blobs `disks/{target rg}/{vm}/{disk}`
 * with the `lun` metadata the VM's agent reads locally, managed disks imported from fixed VHDs in
 * Azure. Writing the disks again gives the same bytes, so every activity here is idempotent.
 */
import { checkClaimed } from '../../shared/jobs/claims';
import type { Logger } from '../../shared/logger';
import type { PointSelector } from '../../shared/recoveryPoints/resolvePoint';
import { materializeAt } from '../../shared/recoveryPoints/materialize';
import { selectPoint } from '../../shared/workflows/failoverPoint';
import { madeDisk, publishOptions } from '../../shared/workflows/replicatedDisks';
import { checkTargetVmFree } from '../../shared/workflows/failoverTarget';
import { setPowerIn, waitForAgentStopped } from '../../shared/workflows/vmPower';
import { workflowServices } from '../../shared/workflows/services';
import type {
  MaterializeInput,
  PlannedRef,
  ResolvePointInput,
  StopTargetOutcome,
  TargetDisks,
} from './types';

const AGENT_STOP_WAIT_MS = 15_000;

export async function resolveFailoverPoint({ ref, plan, choice }: ResolvePointInput): Promise<PointSelector> {
  const s = workflowServices(ref.direction);
  checkClaimed(await s.items.get(ref.resourceGroup, ref.vm), ref, ref.jobId);
  return selectPoint(choice, await s.points.catalog.list(ref.resourceGroup, ref.vm), plan.vmId);
}

/** Stops the target VM if it exists (it must be the item's own) and waits for its agent to let go. */
export async function stopTargetVm({ ref, plan }: PlannedRef, log: Logger): Promise<StopTargetOutcome> {
  const s = workflowServices(ref.direction);
  const item = checkClaimed(await s.items.get(ref.resourceGroup, ref.vm), ref, ref.jobId);
  const { region, resourceGroup, name } = plan.targetVm;
  const store = s.fabric.store(region);
  const existing = await store.virtualMachines.get(resourceGroup, name);
  if (!existing) return { existed: false, agentStopped: true };
  checkTargetVmFree(item, existing);
  await setPowerIn(store, resourceGroup, name, 'Stopped');
  const agentStopped = await waitForAgentStopped(s.fabric.endpoints(region), resourceGroup, name, {
    timeoutMs: AGENT_STOP_WAIT_MS,
  });
  log.info('Target VM stopped before its disks are written', {
    vm: `${resourceGroup}/${name}`,
    agentStopped,
  });
  return { existed: true, agentStopped };
}

export async function materializeTargetDisks(
  { ref, plan, selector }: MaterializeInput,
  log: Logger,
): Promise<TargetDisks> {
  const s = workflowServices(ref.direction);
  const item = checkClaimed(await s.items.get(ref.resourceGroup, ref.vm), ref, ref.jobId);
  const { region, resourceGroup, name } = plan.targetVm;
  const access = s.fabric.diskAccess(region);
  const target = await access.writeTarget(resourceGroup, name, ref.jobId);
  const made = await materializeAt(
    {
      replicas: s.points.replicas,
      journal: s.points.journal,
      catalog: s.points.catalog,
      items: s.items,
      logger: log,
    },
    { resourceGroup: ref.resourceGroup, vm: ref.vm, ...selector },
    target,
  );
  const disks = await access.publish(resourceGroup, name, ref.jobId, made.disks, publishOptions(item.disks));
  log.info('Target disks created', {
    vm: plan.vmId,
    point: made.point.id,
    replayedDeltas: made.replayedDeltas,
    disks: disks.map((d) => d.blob.name),
  });
  return {
    disks: disks.map(madeDisk),
    point: { id: made.point.id, type: made.point.type, time: made.point.time },
    replayedThrough: made.replayedThrough,
    replayedDeltas: made.replayedDeltas,
  };
}
