/**
 * "Creating the target disks": the point is resolved once (its id is kept in the orchestration's
 * history, so a re-run uses the same one); a target VM that exists (a change of point, a re-run,
 * a failback) is stopped first and its agent given time to close the disks; then the point (or a
 * time: the point before it plus the journal) is materialized as page blobs
 * `disks/{target rg}/{vm}/{disk}` in the target region, each with the `lun` metadata the VM's
 * agent reads. Writing the blobs again gives the same bytes, so every activity here is idempotent.
 */
import { checkClaimed } from '../../shared/jobs/claims';
import type { Logger } from '../../shared/logger';
import type { PointSelector } from '../../shared/recoveryPoints/resolvePoint';
import { materializeAt } from '../../shared/recoveryPoints/materialize';
import { vmDiskPrefix } from '../../shared/vmDisks';
import { selectPoint } from '../../shared/workflows/failoverPoint';
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
  checkClaimed(await s.items.get(ref.resourceGroup, ref.vm), ref, ref.jobId);
  const { region, resourceGroup, name } = plan.targetVm;
  const container = s.fabric.disks(region);
  const made = await materializeAt(
    {
      replicas: s.points.replicas,
      journal: s.points.journal,
      catalog: s.points.catalog,
      items: s.items,
      logger: log,
    },
    { resourceGroup: ref.resourceGroup, vm: ref.vm, ...selector },
    { container, prefix: vmDiskPrefix(resourceGroup, name) },
  );
  // A fresh copy has no metadata; the VM's agent finds its disks by `lun` (shared/vmDisks.ts).
  await Promise.all(
    made.disks.map((d) => container.getPageBlobClient(d.blobName).setMetadata({ lun: String(d.lun) })),
  );
  log.info('Target disks created', {
    vm: plan.vmId,
    point: made.point.id,
    replayedDeltas: made.replayedDeltas,
    disks: made.disks.map((d) => d.blobName),
  });
  return {
    disks: made.disks.map((d) => ({
      lun: d.lun,
      name: d.name,
      blobName: d.blobName,
      sizeBytes: d.sizeBytes,
    })),
    point: { id: made.point.id, type: made.point.type, time: made.point.time },
    replayedThrough: made.replayedThrough,
    replayedDeltas: made.replayedDeltas,
  };
}
