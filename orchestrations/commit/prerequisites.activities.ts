/**
 * Commit's "Prerequisites check": the item is this job's and was FailedOver when it was claimed;
 * counts its recovery points and asks whether the source region answers. Reads only.
 */
import { TidemarkError } from '../../shared/errors';
import { checkClaimed } from '../../shared/jobs/claims';
import { probeRegion } from '../../shared/regionHealth';
import { itemId } from '../../shared/workflows/failoverTarget';
import { workflowServices } from '../../shared/workflows/services';
import type { ClaimedRef } from '../claimedJob';
import type { CommitPlan } from './types';

const PROBE_TIMEOUT_MS = 3_000;

export async function checkCommitPrerequisites(ref: ClaimedRef): Promise<CommitPlan> {
  const s = workflowServices(ref.direction);
  const item = checkClaimed(await s.items.get(ref.resourceGroup, ref.vm), ref, ref.jobId);
  const vmId = itemId(item);
  const before = item.activeJob?.previousState;
  if (before !== 'FailedOver') {
    throw new TidemarkError(
      'Conflict',
      `VM ${vmId} was ${before ?? item.state} when the commit began; only a failed-over VM can be committed.`,
      { hint: 'Fail the VM over first.' },
    );
  }
  const [points, probe] = await Promise.all([
    s.points.catalog.list(item.resourceGroup, item.vm),
    probeRegion(s.config.source, PROBE_TIMEOUT_MS),
  ]);
  return {
    vmId,
    sourceRegion: s.fabric.regions.get(s.config.source.name).name,
    points: points.length,
    sourceReachable: probe.reachable,
    ...(probe.error ? { sourceError: probe.error } : {}),
  };
}
