/**
 * "Completing reprotect": the VM now replicates back (its new item is Protected), so the item that
 * failed over is done with. Its replicas in the failed-over region and its lock blob are deleted
 * (its recovery points and journal went at commit), then the item itself. Idempotent: gone already is
 * fine; an item no longer held by this job is left alone.
 */
import { TidemarkError } from '../../shared/errors';
import { replicaBlobName } from '../../shared/replication/replicaWriter';
import { CONTAINERS } from '../../shared/storageNames';
import { workflowServices } from '../../shared/workflows/services';
import type { CompleteInput } from './types';

export async function completeReprotect(input: CompleteInput): Promise<void> {
  const { claimed, plan } = input;
  const back = workflowServices(plan.reverse.direction);
  const replicating = await back.items.get(plan.reverse.resourceGroup, plan.reverse.vm);
  if (replicating?.state !== 'Protected' || replicating.generation !== plan.reverse.generation) {
    throw new TidemarkError(
      'Conflict',
      `The replication of ${plan.reverse.resourceGroup}/${plan.reverse.vm} back is ${replicating?.state ?? 'gone'}, not Protected.`,
      { hint: 'Reprotect again.' },
    );
  }
  const here = workflowServices(claimed.direction);
  const item = await here.items.get(claimed.resourceGroup, claimed.vm);
  if (!item || item.activeJob?.id !== claimed.jobId) return;
  const replicas = here.target.getContainerClient(CONTAINERS.replicas);
  for (const disk of item.disks) {
    await replicas
      .getBlobClient(replicaBlobName(item.resourceGroup, item.vm, disk.name))
      .deleteIfExists({ deleteSnapshots: 'include' });
  }
  await here.target
    .getContainerClient(CONTAINERS.locks)
    .getBlobClient(`${item.resourceGroup}/${item.vm}`)
    .deleteIfExists();
  await here.items.delete(item);
}
