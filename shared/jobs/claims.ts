/**
 * The protected item as the lock of its workflows. A start request claims the item before it starts
 * the job: one ETag-conditional write checks the state against the workflow's rules, records the job
 * as `activeJob` with the state to return to, and moves the item to the workflow's running state. The
 * job releases the claim when it ends: with its final state when it succeeds, back to the previous
 * state when it fails. A claim whose job is no longer running (the request died between claiming and
 * starting, or the job ended without releasing) is stale after CLAIM_GRACE_MS and is taken over.
 */
import { isTidemarkError, TidemarkError } from '../errors';
import type { ActiveJob, ProtectedItem, ProtectedItemStore } from '../protectedItems';
import { type ClaimedKind, itemRefusal, WORKFLOW_RULES } from './workflowRules';

export const CLAIM_GRACE_MS = 30_000;
const ATTEMPTS = 5;

export interface ClaimRequest {
  resourceGroup: string;
  vm: string;
  kind: ClaimedKind;
  jobId: string;
  now: number;
  /** Whether the job `id` is still running (Pending, Running, Suspended) in the task hub. */
  isRunning(id: string): Promise<boolean>;
}

function notProtected(resourceGroup: string, vm: string): TidemarkError {
  return new TidemarkError('NotFound', `VM ${resourceGroup}/${vm} is not protected.`, {
    hint: 'Enable replication for it first.',
    details: { resourceGroup, vm },
  });
}

/** The item with a stale claim undone (its state as before the dead job), or the live claim's 409. */
async function settledItem(item: ProtectedItem, request: ClaimRequest): Promise<ProtectedItem> {
  const claim = item.activeJob;
  if (!claim) return item;
  const vmId = `${item.resourceGroup}/${item.vm}`;
  const live = (await request.isRunning(claim.id)) || request.now - claim.claimedAt < CLAIM_GRACE_MS;
  if (live) {
    throw new TidemarkError('Conflict', `VM ${vmId} has a ${claim.kind} job running (${claim.id}).`, {
      hint: `Wait for it to end; follow it at /api/jobs/${claim.id}.`,
      details: { job: claim.id, kind: claim.kind, state: item.state },
    });
  }
  const { activeJob: _gone, ...rest } = item;
  return { ...rest, state: claim.previousState };
}

/** Claims the item for `request.jobId`; NotFound when unprotected, Conflict when its state or a job forbids. */
export async function claimItem(items: ProtectedItemStore, request: ClaimRequest): Promise<ProtectedItem> {
  const { resourceGroup, vm, kind } = request;
  for (let attempt = 1; ; attempt++) {
    const found = await items.get(resourceGroup, vm);
    if (!found) throw notProtected(resourceGroup, vm);
    const item = await settledItem(found, request);
    const refused = itemRefusal(kind, item);
    if (refused) {
      throw new TidemarkError('Conflict', refused.message, {
        hint: refused.hint,
        details: { resourceGroup: item.resourceGroup, vm: item.vm, state: item.state },
      });
    }
    const activeJob: ActiveJob = {
      id: request.jobId,
      kind,
      claimedAt: request.now,
      previousState: item.state,
    };
    try {
      return await items.update(found, { activeJob, state: WORKFLOW_RULES[kind].during ?? item.state });
    } catch (err) {
      if (!isTidemarkError(err, 'Conflict') || attempt >= ATTEMPTS) throw err;
    }
  }
}

/**
 * Ends `jobId`'s claim with `patch` applied (e.g. the final state). Idempotent: an item no longer
 * claimed by this job is left alone, and undefined is returned; so is a missing item.
 */
export async function releaseItem(
  items: ProtectedItemStore,
  ref: { resourceGroup: string; vm: string },
  jobId: string,
  patch: (item: ProtectedItem) => Partial<Omit<ProtectedItem, 'resourceGroup' | 'vm' | 'etag'>> = () => ({}),
): Promise<ProtectedItem | undefined> {
  for (let attempt = 1; ; attempt++) {
    const item = await items.get(ref.resourceGroup, ref.vm);
    if (!item || item.activeJob?.id !== jobId) return undefined;
    try {
      return await items.update(item, { ...patch(item), activeJob: undefined });
    } catch (err) {
      if (!isTidemarkError(err, 'Conflict') || attempt >= ATTEMPTS) throw err;
    }
  }
}

/** Ends `jobId`'s claim after a failure: the item goes back to the state it had before the job. */
export async function abandonItem(
  items: ProtectedItemStore,
  ref: { resourceGroup: string; vm: string },
  jobId: string,
): Promise<ProtectedItem | undefined> {
  // A resync the applier asked for while the job ran is kept: it still has to happen.
  return releaseItem(items, ref, jobId, (item) => ({
    state: item.state === 'ResyncRequired' ? 'ResyncRequired' : item.activeJob!.previousState,
  }));
}

/** Throws Conflict unless `jobId` holds the item's claim (an activity's guard against a stale job). */
export function checkClaimed(
  item: ProtectedItem | undefined,
  ref: { resourceGroup: string; vm: string },
  jobId: string,
): ProtectedItem {
  if (!item) throw notProtected(ref.resourceGroup, ref.vm);
  if (item.activeJob?.id !== jobId) {
    throw new TidemarkError(
      'Conflict',
      `Job ${jobId} no longer holds VM ${ref.resourceGroup}/${ref.vm}${item.activeJob ? ` (job ${item.activeJob.id} does)` : ''}.`,
      { hint: 'Look at the VM and start the action again if it is still needed.' },
    );
  }
  return item;
}
