/**
 * Commit's "Deleting recovery points", second half: the disks earlier jobs made for the failed-over
 * VM and left behind. In Azure each failover job imports its own managed disks, so a change of
 * recovery point (or a failed try) leaves the previous ones in the group; once the point is
 * committed nothing can go back to them. Only disks tidemark tagged as made for this VM, and not
 * attached to it now, are deleted; a VM that is gone keeps its disks (nothing to compare against).
 */
import { checkClaimed } from '../../shared/jobs/claims';
import type { Logger } from '../../shared/logger';
import { workflowServices } from '../../shared/workflows/services';
import type { ClaimedRef } from '../claimedJob';
import type { DeletedDisks } from './types';

export async function deleteEarlierDisks(ref: ClaimedRef, log: Logger): Promise<DeletedDisks> {
  const s = workflowServices(ref.direction);
  const item = checkClaimed(await s.items.get(ref.resourceGroup, ref.vm), ref, ref.jobId);
  const target = item.failover?.vm;
  if (!target) return { disks: [] };
  const vm = await s.fabric.store(target.region).virtualMachines.get(target.resourceGroup, target.name);
  if (!vm) return { disks: [] };
  const access = s.fabric.diskAccess(target.region);
  const earlier = await access.leftBehind(
    target.resourceGroup,
    target.name,
    vm.disks.map((d) => d.blob.name),
  );
  await access.delete(earlier);
  if (earlier.length > 0) {
    log.info('Earlier disks of the failed-over VM deleted', {
      vm: `${target.resourceGroup}/${target.name}`,
      disks: earlier,
    });
  }
  return { disks: earlier };
}
