import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { type AlertHookDeps, handleAlert, STALE_CLAIM_MS } from '../../../shared/alerts/handleAlert';
import type { CandidateItem } from '../../../shared/alerts/mapping';
import type { AlertRecord, AlertRecordStore } from '../../../shared/alerts/records';
import { type CommonAlert, parseCommonAlert } from '../../../shared/alerts/schema';
import { TidemarkError } from '../../../shared/errors';
import { RecordingLogger } from '../../../shared/logger';
import type { ProtectedItem, ProtectedItemState } from '../../../shared/protectedItems';

const fixture = (name: string): CommonAlert =>
  parseCommonAlert(JSON.parse(fs.readFileSync(path.join(__dirname, '../../fixtures/alerts', name), 'utf8')));

/** The Alerts table's semantics in memory: insert-if-absent, ETag-checked replace and delete. */
class MemoryRecords implements AlertRecordStore {
  readonly rows = new Map<string, AlertRecord>();
  #etag = 0;

  claim(record: AlertRecord): Promise<{ won: boolean; record: AlertRecord }> {
    const existing = this.rows.get(record.alertId);
    if (existing) return Promise.resolve({ won: false, record: existing });
    const stored = { ...record, etag: String(++this.#etag) };
    this.rows.set(record.alertId, stored);
    return Promise.resolve({ won: true, record: stored });
  }
  get(alertId: string): Promise<AlertRecord | undefined> {
    return Promise.resolve(this.rows.get(alertId));
  }
  update(record: AlertRecord, patch: Partial<AlertRecord>): Promise<AlertRecord> {
    if (this.rows.get(record.alertId)?.etag !== record.etag)
      return Promise.reject(new TidemarkError('Conflict', 'changed'));
    const next = { ...record, ...patch, etag: String(++this.#etag) };
    this.rows.set(record.alertId, next);
    return Promise.resolve(next);
  }
  release(record: AlertRecord): Promise<void> {
    if (this.rows.get(record.alertId)?.etag === record.etag) this.rows.delete(record.alertId);
    return Promise.resolve();
  }
}

function item(vm: string, state: ProtectedItemState = 'Protected'): CandidateItem {
  const protectedItem: ProtectedItem = {
    resourceGroup: 'shop-rg',
    vm,
    state,
    generation: 1,
    disks: [],
    applyEnabled: true,
    watermark: 3,
  };
  return { item: protectedItem, direction: 'forward' };
}

interface Harness {
  deps: AlertHookDeps;
  records: MemoryRecords;
  started: { vm: string; recoveryPoint: unknown }[];
  logger: RecordingLogger;
  clock: { now: number };
}

function harness(
  items: CandidateItem[],
  options: { failStart?: (vm: string) => Error | undefined } = {},
): Harness {
  const records = new MemoryRecords();
  const started: Harness['started'] = [];
  const logger = new RecordingLogger();
  const clock = { now: 1_700_000_000_000 };
  const deps: AlertHookDeps = {
    listItems: () => Promise.resolve({ items, unread: [] }),
    startFailover: (c, recoveryPoint) => {
      const err = options.failStart?.(c.item.vm);
      if (err) return Promise.reject(err);
      started.push({ vm: c.item.vm, recoveryPoint });
      return Promise.resolve(`failover-${c.item.resourceGroup}-${c.item.vm}-${started.length}`);
    },
    records,
    logger,
    now: () => clock.now,
    sleep: (ms) => {
      clock.now += ms;
      return Promise.resolve();
    },
  };
  return { deps, records, started, logger, clock };
}

const FIRE = { recoveryPoint: 'latestProcessed' as const, dryRun: false };

describe('handleAlert', () => {
  it('starts a failover for a fired alert and records it; a repeat starts nothing', async () => {
    const h = harness([item('web1'), item('db1')]);
    const alert = fixture('metric-vm-fired.json');
    const first = await handleAlert(alert, FIRE, h.deps);
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({
      alertId: alert.alertId,
      dryRun: false,
      recoveryPoint: 'latestProcessed',
      jobs: [{ vm: { resourceGroup: 'shop-rg', name: 'web1' }, jobId: 'failover-shop-rg-web1-1' }],
      skipped: [],
    });
    expect(h.started).toEqual([{ vm: 'web1', recoveryPoint: 'latestProcessed' }]);
    expect(h.records.rows.get(alert.alertId)).toMatchObject({
      state: 'Done',
      decision: { jobs: [{ jobId: 'failover-shop-rg-web1-1' }] },
    });

    const again = await handleAlert(alert, { ...FIRE, recoveryPoint: 'latest' }, h.deps);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      duplicate: true,
      recoveryPoint: 'latestProcessed',
      jobs: first.body.jobs,
    });
    expect(h.started).toHaveLength(1);
    const msgs = h.logger.records.map((r) => r.msg);
    expect(msgs).toContain('alert: failover started');
    expect(msgs).toContain('alert: deduplicated (already received)');
    expect(h.logger.records.every((r) => r.fields.alertId === alert.alertId)).toBe(true);
  });

  it('starts one set of jobs for two copies arriving at once', async () => {
    const h = harness([item('web1')]);
    const alert = fixture('metric-vm-fired.json');
    const answers = await Promise.all([handleAlert(alert, FIRE, h.deps), handleAlert(alert, FIRE, h.deps)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 202]);
    expect(h.started).toHaveLength(1);
    const [a, b] = answers;
    expect(a?.body.jobs).toEqual(b?.body.jobs);
  });

  it('ignores a resolved alert and records nothing', async () => {
    const h = harness([item('web1')]);
    const answer = await handleAlert(fixture('metric-vm-resolved.json'), FIRE, h.deps);
    expect(answer).toEqual({
      status: 200,
      body: {
        alertId: expect.any(String) as string,
        ignored: 'resolved',
        reason: expect.any(String) as string,
      },
    });
    expect(h.started).toEqual([]);
    expect(h.records.rows.size).toBe(0);
  });

  it('answers 200 with the unmatched targets when no protected item matches', async () => {
    const h = harness([item('db1')]);
    const answer = await handleAlert(fixture('metric-vm-fired.json'), FIRE, h.deps);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      jobs: [],
      skipped: [
        { target: expect.stringMatching(/web1$/) as string, reason: 'VM shop-rg/web1 is not protected.' },
      ],
    });
    expect(h.records.rows.size).toBe(1);
  });

  it('dry run: says what it would start, writes no record, starts nothing', async () => {
    const h = harness([item('web1'), item('db1', 'FailedOver')]);
    const alert = fixture('log-v2-resource-group.json');
    const answer = await handleAlert(alert, { recoveryPoint: { id: 'rp-1-4' }, dryRun: true }, h.deps);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      dryRun: true,
      recoveryPoint: 'id:rp-1-4',
      alreadyHandled: false,
      wouldStart: [
        { vm: { resourceGroup: 'shop-rg', name: 'web1' }, direction: 'forward', state: 'Protected' },
      ],
      jobs: [],
      skipped: [{ vm: { name: 'db1' } }],
    });
    expect(h.started).toEqual([]);
    expect(h.records.rows.size).toBe(0);
  });

  it('reports an item whose start is refused (409) as skipped, and keeps going', async () => {
    const h = harness([item('web1'), item('db1')], {
      failStart: (vm) =>
        vm === 'web1'
          ? new TidemarkError('Conflict', 'VM shop-rg/web1 has a Failover job running (x).')
          : undefined,
    });
    const answer = await handleAlert(fixture('log-v2-resource-group.json'), FIRE, h.deps);
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({
      jobs: [{ vm: { name: 'db1' } }],
      skipped: [{ vm: { name: 'web1' }, reason: 'VM shop-rg/web1 has a Failover job running (x).' }],
    });
  });

  it('reports a start that failed for a system reason, logging it as an error', async () => {
    const h = harness([item('web1')], {
      failStart: () => new Error('HTTP 400: the function failover does not exist'),
    });
    const answer = await handleAlert(fixture('metric-vm-fired.json'), FIRE, h.deps);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      jobs: [],
      skipped: [
        { vm: { name: 'web1' }, reason: expect.stringMatching(/could not be started: HTTP 400/) as string },
      ],
    });
    expect(h.logger.records.some((r) => r.level === 'error')).toBe(true);
  });

  it('gives the alert id back when it fails before starting anything, so a retry can act', async () => {
    const h = harness([item('web1')]);
    h.deps.listItems = () => Promise.reject(new Error('storage down'));
    await expect(handleAlert(fixture('metric-vm-fired.json'), FIRE, h.deps)).rejects.toThrow('storage down');
    expect(h.records.rows.size).toBe(0);
  });

  it('a copy waits for the first one; past the wait it answers inProgress, starting nothing', async () => {
    const h = harness([item('web1')]);
    const alert = fixture('metric-vm-fired.json');
    await h.records.claim({
      alertId: alert.alertId,
      state: 'Starting',
      receivedAt: h.clock.now,
      updatedAt: h.clock.now,
      monitoringService: 'Platform',
      recoveryPoint: 'latest',
    });
    const answer = await handleAlert(alert, FIRE, h.deps);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ duplicate: true, inProgress: true, jobs: [] });
    expect(h.started).toEqual([]);
  });

  it('takes over a record whose request died while starting', async () => {
    const h = harness([item('web1')]);
    const alert = fixture('metric-vm-fired.json');
    const then = h.clock.now - STALE_CLAIM_MS - 1;
    await h.records.claim({
      alertId: alert.alertId,
      state: 'Starting',
      receivedAt: then,
      updatedAt: then,
      monitoringService: 'Platform',
      recoveryPoint: 'latest',
    });
    const answer = await handleAlert(alert, FIRE, h.deps);
    expect(answer.status).toBe(202);
    expect(h.started).toHaveLength(1);
    expect(h.records.rows.get(alert.alertId)?.state).toBe('Done');
  });
});
