/**
 * The protected item as the lock of its workflows (shared/jobs/claims.ts), against an in-memory store
 * that keeps ETags as the table does: claims from every state of every workflow's rules, the 409s
 * and their hints, live and stale claims, release and abandon, and lost ETag races.
 */
import { describe, expect, it } from 'vitest';

import { isTidemarkError, TidemarkError } from '../../../shared/errors';
import {
  abandonItem,
  CLAIM_GRACE_MS,
  checkClaimed,
  type ClaimRequest,
  claimItem,
  releaseItem,
} from '../../../shared/jobs/claims';
import { type ClaimedKind, refusal, WORKFLOW_RULES } from '../../../shared/jobs/workflowRules';
import {
  PROTECTED_ITEM_STATES,
  type ProtectedItem,
  type ProtectedItemState,
  type ProtectedItemStore,
  type TestFailoverRecord,
} from '../../../shared/protectedItems';

type Patch = Partial<Omit<ProtectedItem, 'resourceGroup' | 'vm' | 'etag'>>;

/** ProtectedItemStore in memory: every write is ETag-conditional, Conflict (retryable) when stale. */
class MemoryItemStore implements ProtectedItemStore {
  readonly #rows = new Map<string, ProtectedItem>();
  #etag = 0;
  updates = 0;
  /** Runs before each update is checked: a concurrent writer can change the row there. */
  beforeUpdate?: (store: MemoryItemStore, attempt: number) => void;

  #key(resourceGroup: string, vm: string): string {
    return `${resourceGroup}/${vm}`;
  }

  #conflict(item: ProtectedItem): TidemarkError {
    return new TidemarkError(
      'Conflict',
      `Protected item ${item.resourceGroup}/${item.vm} changed meanwhile.`,
      {
        retryable: true,
      },
    );
  }

  /** Writes the row as another writer would (new ETag), outside the conditional path. */
  put(item: ProtectedItem): ProtectedItem {
    const row = { ...structuredClone(item), etag: `"${++this.#etag}"` };
    this.#rows.set(this.#key(item.resourceGroup, item.vm), row);
    return structuredClone(row);
  }

  async get(resourceGroup: string, vm: string): Promise<ProtectedItem | undefined> {
    const row = this.#rows.get(this.#key(resourceGroup, vm));
    return row && structuredClone(row);
  }

  async list(): Promise<ProtectedItem[]> {
    return [...this.#rows.values()].map((r) => structuredClone(r));
  }

  async create(item: ProtectedItem): Promise<ProtectedItem> {
    if (this.#rows.has(this.#key(item.resourceGroup, item.vm))) throw this.#conflict(item);
    return this.put(item);
  }

  async update(item: ProtectedItem, patch: Patch): Promise<ProtectedItem> {
    this.updates++;
    this.beforeUpdate?.(this, this.updates);
    const row = this.#rows.get(this.#key(item.resourceGroup, item.vm));
    if (!row || row.etag !== item.etag) throw this.#conflict(item);
    // Replace semantics: a field patched to undefined goes away.
    const next = Object.fromEntries(
      Object.entries({ ...item, ...patch }).filter(([, v]) => v !== undefined),
    ) as unknown as ProtectedItem;
    return this.put(next);
  }

  async delete(item: ProtectedItem): Promise<void> {
    const row = this.#rows.get(this.#key(item.resourceGroup, item.vm));
    if (!row) return;
    if (item.etag !== undefined && row.etag !== item.etag) throw this.#conflict(item);
    this.#rows.delete(this.#key(item.resourceGroup, item.vm));
  }
}

const NOW = Date.UTC(2026, 0, 1, 12);
const KINDS = Object.keys(WORKFLOW_RULES) as ClaimedKind[];

function item(state: ProtectedItemState, extra: Partial<ProtectedItem> = {}): ProtectedItem {
  return {
    resourceGroup: 'shop-rg',
    vm: 'web1',
    state,
    generation: 2,
    disks: [{ lun: 0, name: 'os', sizeBytes: 8 * 1024 * 1024 }],
    applyEnabled: true,
    watermark: 40,
    ...extra,
  };
}

/** What a test failover records on the item; cleanup needs it, and every other workflow waits for it. */
const TEST_FAILOVER: TestFailoverRecord = {
  jobId: 'testfailover-shop-rg-web1-x',
  choice: 'latestProcessed',
  pointId: 'rp-2-40',
  pointTime: NOW - 60_000,
  vm: { region: 'westus', resourceGroup: 'shop-rg-asr', name: 'web1-test' },
  nic: { resourceGroup: 'shop-rg-asr', name: 'web1-test-nic' },
  vnet: { resourceGroup: 'shop-rg-asr', name: 'shop-vnet-asr-test' },
  createdVnet: true,
  diskBlobs: ['shop-rg-asr/web1-test/os'],
  at: NOW - 30_000,
};

/** The item in `state` as `kind` finds it: with a test failover record exactly when cleanup is asked. */
function itemFor(kind: ClaimedKind, state: ProtectedItemState): ProtectedItem {
  return item(state, kind === 'TestFailoverCleanup' ? { testFailover: TEST_FAILOVER } : {});
}

function request(kind: ClaimedKind, extra: Partial<ClaimRequest> = {}): ClaimRequest {
  return {
    resourceGroup: 'shop-rg',
    vm: 'web1',
    kind,
    jobId: `job-${kind}`,
    now: NOW,
    isRunning: async () => false,
    ...extra,
  };
}

async function refused(promise: Promise<unknown>): Promise<TidemarkError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof TidemarkError) return err;
    throw err;
  }
  throw new Error('expected a TidemarkError');
}

describe('claimItem against the workflow rules', () => {
  for (const kind of KINDS) {
    const rule = WORKFLOW_RULES[kind];
    for (const state of PROTECTED_ITEM_STATES) {
      const allowed = rule.from.includes(state);
      it(`${kind} from ${state}: ${allowed ? 'claims' : '409'}`, async () => {
        const store = new MemoryItemStore();
        const before = store.put(itemFor(kind, state));
        if (allowed) {
          const claimed = await claimItem(store, request(kind));
          expect(claimed.state).toBe(rule.during ?? state);
          expect(claimed.activeJob).toEqual({
            id: `job-${kind}`,
            kind,
            claimedAt: NOW,
            previousState: state,
          });
          expect(await store.get('shop-rg', 'web1')).toEqual(claimed);
          expect(claimed.watermark).toBe(40);
          return;
        }
        const err = await refused(claimItem(store, request(kind)));
        expect(err.code).toBe('Conflict');
        expect(err.retryable).toBe(false);
        expect(err.message).toBe(
          `Can't ${rule.action} for VM shop-rg/web1: its protected item is ${state}; that is possible only when it is ${rule.from.join(' or ')}.`,
        );
        expect(err.hint).toBe(refusal(kind, 'shop-rg/web1', state)?.hint);
        expect(err.details).toEqual({ resourceGroup: 'shop-rg', vm: 'web1', state });
        // Refused: the row is as it was.
        expect(await store.get('shop-rg', 'web1')).toEqual(before);
      });
    }
  }

  it('says what to do first for the states that refuse something', () => {
    const withoutHint = new Set<ProtectedItemState>();
    for (const kind of KINDS) {
      for (const state of PROTECTED_ITEM_STATES) {
        const r = refusal(kind, 'rg/vm', state);
        if (WORKFLOW_RULES[kind].from.includes(state)) expect(r).toBeUndefined();
        else if (r?.hint === undefined) withoutHint.add(state);
        else expect(r.hint, `${kind} from ${state}`).toMatch(/^[A-Z].*\.$/);
      }
    }
    // No workflow leads out of ResyncRequired yet (there is no resync job), so it has no hint.
    expect([...withoutHint]).toEqual(['ResyncRequired']);
    expect(refusal('DisableReplication', 'rg/vm', 'TestFailedOver')?.hint).toBe(
      'Clean up the test failover first.',
    );
    expect(refusal('CommitFailover', 'rg/vm', 'Protected')?.hint).toBe('Fail the VM over first.');
  });

  it('lets only cleanup run while a test failover VM is up, whatever the state shows', async () => {
    for (const kind of KINDS.filter((k) => k !== 'TestFailoverCleanup')) {
      for (const state of WORKFLOW_RULES[kind].from) {
        const store = new MemoryItemStore();
        const before = store.put(item(state, { testFailover: TEST_FAILOVER }));
        const err = await refused(claimItem(store, request(kind)));
        expect(err.code).toBe('Conflict');
        expect(err.message).toBe(
          `Can't ${WORKFLOW_RULES[kind].action} for VM shop-rg/web1: its test failover VM shop-rg-asr/web1-test is still up.`,
        );
        expect(err.hint).toBe('Clean up the test failover first.');
        expect(await store.get('shop-rg', 'web1')).toEqual(before);
      }
    }
    const store = new MemoryItemStore();
    store.put(item('ResyncRequired', { testFailover: TEST_FAILOVER }));
    expect((await claimItem(store, request('TestFailoverCleanup'))).state).toBe('TestFailoverInProgress');
  });

  it('refuses a cleanup when there is no test failover to clean up', async () => {
    const store = new MemoryItemStore();
    store.put(item('TestFailedOver'));
    const err = await refused(claimItem(store, request('TestFailoverCleanup')));
    expect(err.code).toBe('Conflict');
    expect(err.message).toBe('VM shop-rg/web1 has no test failover to clean up.');
  });

  it('is NotFound for a VM that is not protected, with a hint', async () => {
    const err = await refused(claimItem(new MemoryItemStore(), request('Failover')));
    expect(err.code).toBe('NotFound');
    expect(err.message).toBe('VM shop-rg/web1 is not protected.');
    expect(err.hint).toBe('Enable replication for it first.');
  });
});

describe('claims held by a job', () => {
  const held = (claimedAt: number, state: ProtectedItemState = 'FailoverInProgress') =>
    item(state, {
      activeJob: { id: 'failover-shop-rg-web1-x', kind: 'Failover', claimedAt, previousState: 'Protected' },
    });

  it('refuses while the holding job runs, however old its claim', async () => {
    const store = new MemoryItemStore();
    store.put(held(NOW - 10 * CLAIM_GRACE_MS));
    const asked: string[] = [];
    const err = await refused(
      claimItem(
        store,
        request('DisableReplication', {
          isRunning: async (id) => {
            asked.push(id);
            return true;
          },
        }),
      ),
    );
    expect(asked).toEqual(['failover-shop-rg-web1-x']);
    expect(err.code).toBe('Conflict');
    expect(err.message).toBe('VM shop-rg/web1 has a Failover job running (failover-shop-rg-web1-x).');
    expect(err.hint).toBe('Wait for it to end; follow it at /api/jobs/failover-shop-rg-web1-x.');
    expect(err.details).toEqual({
      job: 'failover-shop-rg-web1-x',
      kind: 'Failover',
      state: 'FailoverInProgress',
    });
  });

  it('refuses within the grace period even when the job is not (yet) running', async () => {
    const store = new MemoryItemStore();
    store.put(held(NOW - CLAIM_GRACE_MS + 1));
    const err = await refused(claimItem(store, request('DisableReplication')));
    expect(err.message).toMatch(/has a Failover job running/);
  });

  it('takes over a stale claim, from the state before the dead job', async () => {
    const store = new MemoryItemStore();
    store.put(held(NOW - CLAIM_GRACE_MS));
    const claimed = await claimItem(store, request('DisableReplication'));
    expect(claimed.state).toBe('Disabling');
    expect(claimed.activeJob).toEqual({
      id: 'job-DisableReplication',
      kind: 'DisableReplication',
      claimedAt: NOW,
      previousState: 'Protected',
    });
  });

  it("judges a stale claim's item by the state before the dead job", async () => {
    const store = new MemoryItemStore();
    store.put(held(NOW - 2 * CLAIM_GRACE_MS));
    // Protected (the state before the dead failover) does not allow a commit.
    const err = await refused(claimItem(store, request('CommitFailover')));
    expect(err.message).toMatch(/its protected item is Protected;/);
    expect((await store.get('shop-rg', 'web1'))?.activeJob?.id).toBe('failover-shop-rg-web1-x');
  });
});

describe('releaseItem and abandonItem', () => {
  async function claimed(store: MemoryItemStore): Promise<ProtectedItem> {
    store.put(item('Protected'));
    return claimItem(store, request('Failover', { jobId: 'job-1' }));
  }

  it('releases with the final state, once', async () => {
    const store = new MemoryItemStore();
    await claimed(store);
    const released = await releaseItem(store, { resourceGroup: 'shop-rg', vm: 'web1' }, 'job-1', () => ({
      state: 'FailedOver',
    }));
    expect(released?.state).toBe('FailedOver');
    expect(released?.activeJob).toBeUndefined();
    const after = await store.get('shop-rg', 'web1');
    expect(after).toEqual(released);
    // Again: not held by job-1 any more, nothing changes.
    expect(await releaseItem(store, after!, 'job-1', () => ({ state: 'Protected' }))).toBeUndefined();
    expect(await store.get('shop-rg', 'web1')).toEqual(after);
  });

  it('leaves an item another job holds, and a missing item, alone', async () => {
    const store = new MemoryItemStore();
    const held = await claimed(store);
    expect(await releaseItem(store, held, 'job-2')).toBeUndefined();
    expect(await abandonItem(store, held, 'job-2')).toBeUndefined();
    expect(await store.get('shop-rg', 'web1')).toEqual(held);
    expect(await releaseItem(new MemoryItemStore(), held, 'job-1')).toBeUndefined();
    expect(await abandonItem(new MemoryItemStore(), held, 'job-1')).toBeUndefined();
  });

  it('abandons back to the state from before the job, idempotently', async () => {
    const store = new MemoryItemStore();
    const held = await claimed(store);
    expect(held.state).toBe('FailoverInProgress');
    const back = await abandonItem(store, held, 'job-1');
    expect(back?.state).toBe('Protected');
    expect(back?.activeJob).toBeUndefined();
    expect(await abandonItem(store, held, 'job-1')).toBeUndefined();
    expect((await store.get('shop-rg', 'web1'))?.state).toBe('Protected');
  });

  it('keeps a resync the applier flagged while the job ran', async () => {
    const store = new MemoryItemStore();
    const held = await claimed(store);
    const flagged = store.put({ ...held, state: 'ResyncRequired', applyEnabled: false });
    const back = await abandonItem(store, flagged, 'job-1');
    expect(back).toMatchObject({ state: 'ResyncRequired', applyEnabled: false });
    expect(back?.activeJob).toBeUndefined();
  });
});

describe('lost ETag races', () => {
  it('claims again over a concurrent write that changed something else, keeping it', async () => {
    const store = new MemoryItemStore();
    store.put(item('Protected'));
    store.beforeUpdate = (s, n) => {
      if (n === 1) s.put(item('Protected', { watermark: 41 }));
    };
    const claimed = await claimItem(store, request('TestFailover'));
    expect(store.updates).toBe(2);
    expect(claimed).toMatchObject({ state: 'TestFailoverInProgress', watermark: 41 });
  });

  it('refuses when a concurrent claim won the race', async () => {
    const store = new MemoryItemStore();
    store.put(item('Protected'));
    store.beforeUpdate = (s, n) => {
      if (n === 1) {
        s.put(
          item('FailoverInProgress', {
            activeJob: { id: 'other', kind: 'Failover', claimedAt: NOW, previousState: 'Protected' },
          }),
        );
      }
    };
    const err = await refused(claimItem(store, request('TestFailover', { isRunning: async () => true })));
    expect(err.message).toBe('VM shop-rg/web1 has a Failover job running (other).');
    expect((await store.get('shop-rg', 'web1'))?.activeJob?.id).toBe('other');
  });

  it('gives up with a retryable Conflict when every attempt loses', async () => {
    const store = new MemoryItemStore();
    store.put(item('Protected'));
    store.beforeUpdate = (s) => void s.put(item('Protected', { watermark: s.updates }));
    const err = await refused(claimItem(store, request('Failover')));
    expect(isTidemarkError(err, 'Conflict')).toBe(true);
    expect(err.retryable).toBe(true);
    expect(store.updates).toBe(5);
    expect((await store.get('shop-rg', 'web1'))?.activeJob).toBeUndefined();
  });

  it('releases over a concurrent write, keeping it', async () => {
    const store = new MemoryItemStore();
    store.put(item('Protected'));
    const held = await claimItem(store, request('Failover', { jobId: 'job-1' }));
    store.beforeUpdate = (s, n) => {
      if (n === 2) s.put({ ...held, watermark: 99, etag: undefined });
    };
    const released = await abandonItem(store, held, 'job-1');
    expect(released).toMatchObject({ state: 'Protected', watermark: 99 });
    expect(released?.activeJob).toBeUndefined();
  });
});

describe('checkClaimed', () => {
  const ref = { resourceGroup: 'shop-rg', vm: 'web1' };
  const held = item('Disabling', {
    activeJob: { id: 'job-1', kind: 'DisableReplication', claimedAt: NOW, previousState: 'Protected' },
  });

  it('passes the item its job holds', () => {
    expect(checkClaimed(held, ref, 'job-1')).toBe(held);
  });

  it('refuses a job that no longer holds it, naming the holder', () => {
    expect(() => checkClaimed(held, ref, 'job-0')).toThrow(
      'Job job-0 no longer holds VM shop-rg/web1 (job job-1 does).',
    );
    expect(() => checkClaimed(item('Protected'), ref, 'job-0')).toThrow(
      'Job job-0 no longer holds VM shop-rg/web1.',
    );
    try {
      checkClaimed(item('Protected'), ref, 'job-0');
    } catch (err) {
      expect((err as TidemarkError).hint).toMatch(/start the action again/);
      expect((err as TidemarkError).retryable).toBe(false);
    }
  });

  it('is NotFound for an item that is gone', () => {
    expect(() => checkClaimed(undefined, ref, 'job-1')).toThrow('VM shop-rg/web1 is not protected.');
  });
});
