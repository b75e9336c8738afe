/**
 * One run of the recovery-point timer over every protected item. Per VM, under its lease (a short
 * wait; a VM whose lease is busy is left to the next run, and the applier keeps its health fresh
 * meanwhile): cut a crash-consistent point if anything is new, apply retention, ask the agent for an
 * app-consistent bookmark when one is due, then store RPO and health on the item and log them as one
 * metric line.
 */
import pLimit from 'p-limit';

import type { Clock } from '../clock';
import { ensureError, isTidemarkError } from '../errors';
import type { Logger } from '../logger';
import {
  isReplicating,
  type ItemHealth,
  type ProtectedItem,
  type ProtectedItemStore,
  type ReplicationPolicy,
} from '../protectedItems';
import { VmLocks } from '../replication/vmLease';
import { requestAppConsistentBookmark } from './appConsistent';
import { type CatchUp, type CutResult, cutHeld } from './cut';
import { assessHealth } from './health';
import { effectivePolicy } from './policy';
import { prunePoints } from './prune';
import type { RecoveryPointStores } from './stores';
import type { RecoveryPoint } from './types';

export interface RunOptions {
  clock: Clock;
  logger: Logger;
  /** How long to wait for a VM's lease before leaving it to the next run (default 5 s). */
  leaseWaitMs?: number;
  maxPoints?: number;
  /** VMs handled at once (default 8). */
  concurrency?: number;
  /**
   * Run under each VM's lease before its cut (buildApplier's `catchUp`): the replicas may be ahead
   * of the watermark after an apply died half way. When it fails (the cache is unreachable), no
   * point is cut this run; health is still updated.
   */
  catchUp?: CatchUp;
}

export interface VmRunSummary {
  vm: string;
  outcome: 'done' | 'busy' | 'gone' | 'failed';
  cut?: CutResult['outcome'];
  points?: number;
  pruned?: number;
  rpoSeconds?: number;
  health?: ItemHealth;
  error?: string;
}

export async function runRecoveryPoints(
  stores: RecoveryPointStores,
  options: RunOptions,
): Promise<VmRunSummary[]> {
  const limit = pLimit(options.concurrency ?? 8);
  const items = await stores.items.list();
  return Promise.all(
    items.map((item) =>
      limit(async (): Promise<VmRunSummary> => {
        const vm = `${item.resourceGroup}/${item.vm}`;
        try {
          return await runVmRecoveryPoints(stores, options, item.resourceGroup, item.vm);
        } catch (err) {
          const error = ensureError(err).message;
          options.logger.error('Recovery point run failed for a VM', { vm, error });
          return { vm, outcome: 'failed', error };
        }
      }),
    ),
  );
}

/** The timer's work for one VM (also what a failover's "latest" needs: a point, pruning, health). */
export async function runVmRecoveryPoints(
  stores: RecoveryPointStores,
  options: RunOptions,
  resourceGroup: string,
  vmName: string,
): Promise<VmRunSummary> {
  const vm = `${resourceGroup}/${vmName}`;
  const lease = await new VmLocks(stores.locks, options.clock).acquire(
    resourceGroup,
    vmName,
    options.leaseWaitMs ?? 5_000,
  );
  if (!lease) {
    options.logger.debug('VM lease busy; its point waits for the next run', { vm });
    return { vm, outcome: 'busy' };
  }
  try {
    let item = await stores.items.get(resourceGroup, vmName);
    if (!item) return { vm, outcome: 'gone' };
    let level = true;
    if (isReplicating(item) && options.catchUp) {
      try {
        await options.catchUp(item, () => lease.lost);
      } catch (err) {
        level = false;
        options.logger.warn('Could not apply the next deltas before the cut; no point this run', {
          vm,
          error: ensureError(err).message,
        });
      }
      item = await stores.items.get(resourceGroup, vmName);
      if (!item) return { vm, outcome: 'gone' };
    }
    const policy = effectivePolicy(item.policy);
    const deps = { ...stores, clock: options.clock, logger: options.logger, maxPoints: options.maxPoints };
    let cut: CutResult | undefined;
    let points: RecoveryPoint[];
    let pruned = 0;
    if (isReplicating(item)) {
      if (level) cut = await cutHeld(deps, item, 'CrashConsistent');
      const result = await prunePoints(deps, item, policy, {
        maxPoints: options.maxPoints,
        points: cut && 'points' in cut ? cut.points : undefined,
      });
      points = result.kept;
      pruned = result.pruned.length;
    } else {
      points = await stores.catalog.list(resourceGroup, vmName);
    }
    const now = options.clock.now();
    const patch: Partial<ProtectedItem> = { lastRecoveryPointAt: points[0]?.cutAt };
    if (isReplicating(item) && (await askForBookmark(stores, item, policy, points, now))) {
      patch.appConsistentRequestedAt = now;
    }
    const health = assessHealth({ ...item, ...patch }, now);
    const updated = await updateItem(stores.items, item, {
      ...patch,
      rpoSeconds: health.rpoSeconds,
      health: health.health,
      healthReasons: health.reasons,
    });
    options.logger.info('replication metric', {
      metric: 'replication',
      vm,
      rpoSeconds: health.rpoSeconds,
      health: health.health,
      reasons: health.reasons,
      points: points.length,
      churnBytesPerSecond: updated.stats?.churnBytesPerSecond ?? 0,
      lagMs: updated.stats?.lagMs,
    });
    return {
      vm,
      outcome: 'done',
      cut: cut?.outcome,
      points: points.length,
      pruned,
      rpoSeconds: health.rpoSeconds,
      health: health.health,
    };
  } finally {
    await lease.release();
  }
}

/** Asks the agent for an app-consistent bookmark when the policy's interval has passed. */
async function askForBookmark(
  stores: RecoveryPointStores,
  item: ProtectedItem,
  policy: ReplicationPolicy,
  points: readonly RecoveryPoint[],
  now: number,
): Promise<boolean> {
  if (policy.appConsistentFrequencyMinutes === 0 || !stores.agentConfig) return false;
  const lastPoint = points.find((p) => p.type === 'AppConsistent')?.cutAt ?? 0;
  const last = Math.max(item.appConsistentRequestedAt ?? 0, lastPoint);
  if (now - last < policy.appConsistentFrequencyMinutes * 60_000) return false;
  return requestAppConsistentBookmark(stores.agentConfig, item.resourceGroup, item.vm);
}

/** ETag-checked update; on a conflict (another writer), reads again and re-applies the patch. */
async function updateItem(
  items: ProtectedItemStore,
  item: ProtectedItem,
  patch: Partial<ProtectedItem>,
): Promise<ProtectedItem> {
  let current = item;
  for (let attempt = 1; ; attempt++) {
    try {
      return await items.update(current, patch);
    } catch (err) {
      if (!isTidemarkError(err, 'Conflict') || attempt >= 3) throw err;
      const fresh = await items.get(item.resourceGroup, item.vm);
      if (!fresh) throw err;
      current = fresh;
    }
  }
}
