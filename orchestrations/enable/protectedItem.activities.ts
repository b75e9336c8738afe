/**
 * The protected item through enable-replication: registered (Enabling, applyEnabled false, a new
 * generation), then InitialReplication, then apply on, then Protected. Every write is ETag-
 * conditional and idempotent: an item already at the wanted generation and state is left alone.
 */
import { isTidemarkError, TidemarkError } from '../../shared/errors';
import { checkNotProtected } from '../../shared/jobs/enableRules';
import type { ProtectedItem } from '../../shared/protectedItems';
import { enableServices } from './services.activities';
import type { RegisterInput, VmGeneration } from './types';

const MAX_ATTEMPTS = 5;

/** Registers the item for `input.source.generation`; an item of an older, failed enable is replaced. */
export async function registerItem(input: RegisterInput): Promise<void> {
  const { source, target, policy } = input;
  const items = enableServices(input.direction).items;
  const fresh: ProtectedItem = {
    resourceGroup: source.resourceGroup,
    vm: source.vm,
    state: 'Enabling',
    generation: source.generation,
    disks: source.disks,
    applyEnabled: false,
    watermark: 0,
    target,
    sourceVm: {
      region: source.region,
      size: source.size,
      vnet: source.vnet,
      subnet: source.subnet,
      privateIp: source.privateIp,
      ...(source.availabilitySet ? { availabilitySet: source.availabilitySet } : {}),
    },
    ...(policy ? { policy } : {}),
    ...(input.failbackTo ? { failbackTo: input.failbackTo } : {}),
  };
  for (let attempt = 1; ; attempt++) {
    const item = await items.get(source.resourceGroup, source.vm);
    if (item?.generation === source.generation) return;
    checkNotProtected(item);
    if (item && item.generation > source.generation) {
      throw new TidemarkError(
        'Conflict',
        `VM ${source.resourceGroup}/${source.vm} was enabled again meanwhile (generation ${item.generation}).`,
      );
    }
    try {
      if (!item) await items.create(fresh);
      else {
        // Replace every field, so nothing of the older generation (watermark, stats) survives.
        const cleared = Object.fromEntries(Object.keys(item).map((k) => [k, undefined]));
        const { resourceGroup: _rg, vm: _vm, etag: _etag, ...patch } = { ...cleared, ...fresh };
        await items.update(item, patch);
      }
      return;
    } catch (err) {
      if (!isTidemarkError(err, 'Conflict') || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}

/** Applies `patch` to the item of `ref.generation` unless `done(item)` already holds. */
async function updateItem(
  ref: VmGeneration,
  done: (item: ProtectedItem) => boolean,
  patch: (item: ProtectedItem) => Partial<ProtectedItem>,
): Promise<ProtectedItem> {
  const items = enableServices(ref.direction).items;
  for (let attempt = 1; ; attempt++) {
    const item = await items.get(ref.resourceGroup, ref.vm);
    if (!item || item.generation !== ref.generation) {
      throw new TidemarkError(
        'Conflict',
        `The protected item of ${ref.resourceGroup}/${ref.vm} was removed or re-enabled while this job ran.`,
        { hint: 'Look at the VM, then enable replication again if needed.' },
      );
    }
    if (done(item)) return item;
    try {
      const { resourceGroup: _rg, vm: _vm, etag: _etag, ...changes } = patch(item);
      return await items.update(item, changes);
    } catch (err) {
      if (!isTidemarkError(err, 'Conflict') || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}

export async function setInitialReplication(ref: VmGeneration): Promise<void> {
  await updateItem(
    ref,
    (item) => item.state !== 'Enabling',
    () => ({ state: 'InitialReplication' }),
  );
}

/**
 * Records when the replicas will be crash-consistent (`consistentAfter`, from `barrier()`, called
 * only when the item has none yet and apply is still off: a re-run keeps the first).
 */
export async function setConsistentAfter(ref: VmGeneration, barrier: () => Promise<number>): Promise<void> {
  const item = await enableServices(ref.direction).items.get(ref.resourceGroup, ref.vm);
  if (item?.generation === ref.generation && (item.consistentAfter !== undefined || item.applyEnabled))
    return;
  const time = await barrier();
  await updateItem(
    ref,
    (current) => current.consistentAfter !== undefined || current.applyEnabled,
    () => ({ consistentAfter: time }),
  );
}

export async function enableApply(ref: VmGeneration): Promise<void> {
  await updateItem(
    ref,
    (item) => item.applyEnabled,
    () => ({ applyEnabled: true }),
  );
}

export async function markProtected(ref: VmGeneration & { lastRecoveryPointAt?: number }): Promise<void> {
  await updateItem(
    ref,
    (item) => item.state === 'Protected',
    (item) => ({
      state: 'Protected',
      lastRecoveryPointAt: ref.lastRecoveryPointAt ?? item.lastRecoveryPointAt,
    }),
  );
}
