/**
 * What the alert hook does with a valid alert (docs/alerts.md):
 *
 *   Resolved (or an event that is over)   → 200 {ignored}; nothing started
 *   dryRun                                → 200 {wouldStart, skipped}; no record, nothing started
 *   fired, first time for its alert id    → insert the alert's record, start a failover per eligible
 *                                           item, record the jobs; 202 {jobs, skipped} (200 if none)
 *   fired again (or a concurrent copy)    → 200 with the recorded decision; nothing started
 *
 * Storage and the Durable client come in as AlertHookDeps, so the rules run in unit tests as they are.
 */
import { isTidemarkError } from '../errors';
import type { Logger } from '../logger';
import { describeChoice, type RecoveryPointChoice } from '../recoveryPoints/choice';
import { whyIgnored } from './ignore';
import { type CandidateItem, mapAlert, type SkippedEntry, vmOf } from './mapping';
import type { AlertDecision, AlertRecord, AlertRecordStore, StartedJob } from './records';
import type { CommonAlert } from './schema';

/** How long a concurrent copy of an alert waits for the first one's decision. */
export const WAIT_FOR_WINNER_MS = 10_000;
const POLL_MS = 250;
/** A record still Starting after this long belongs to a request that died; a new copy takes over. */
export const STALE_CLAIM_MS = 5 * 60_000;

export interface AlertHookDeps {
  /** Every protected item of both directions; `unread` says which stores could not be read. */
  listItems(): Promise<{ items: CandidateItem[]; unread: SkippedEntry[] }>;
  /** Starts the Failover job for `candidate`; returns its job id. */
  startFailover(candidate: CandidateItem, recoveryPoint: RecoveryPointChoice, now: number): Promise<string>;
  records: AlertRecordStore;
  logger: Logger;
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface AlertOptions {
  recoveryPoint: RecoveryPointChoice;
  dryRun: boolean;
}

export interface AlertAnswer {
  status: number;
  body: Record<string, unknown>;
}

function logSkipped(log: Logger, skipped: readonly SkippedEntry[]): void {
  for (const s of skipped) log.info('alert: skipped', { vm: s.vm, target: s.target, reason: s.reason });
}

async function startJobs(
  eligible: readonly CandidateItem[],
  options: AlertOptions,
  deps: AlertHookDeps,
  log: Logger,
): Promise<AlertDecision> {
  const jobs: StartedJob[] = [];
  const skipped: SkippedEntry[] = [];
  for (const candidate of eligible) {
    const vm = vmOf(candidate.item);
    try {
      const jobId = await deps.startFailover(candidate, options.recoveryPoint, deps.now());
      jobs.push({ vm, jobId });
      log.info('alert: failover started', { vm, direction: candidate.direction, jobId });
    } catch (err) {
      const user = isTidemarkError(err) && err.isUserError;
      const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
      const reason = user ? message : `The failover could not be started: ${message}`;
      skipped.push({ vm, reason });
      if (user) log.info('alert: skipped', { vm, reason });
      else log.error('alert: failover could not be started', { vm, error: message });
    }
  }
  return { jobs, skipped };
}

function decisionBody(record: AlertRecord, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    alertId: record.alertId,
    dryRun: false,
    ...extra,
    recoveryPoint: record.recoveryPoint,
    receivedAt: new Date(record.receivedAt).toISOString(),
    jobs: record.decision?.jobs ?? [],
    skipped: record.decision?.skipped ?? [],
  };
}

/** The record once the first request has decided (it waits a little for a concurrent one). */
async function settled(alertId: string, first: AlertRecord, deps: AlertHookDeps): Promise<AlertRecord> {
  let record = first;
  const until = deps.now() + WAIT_FOR_WINNER_MS;
  while (record.state !== 'Done' && deps.now() < until) {
    await deps.sleep(POLL_MS);
    record = (await deps.records.get(alertId)) ?? record;
  }
  return record;
}

/** Takes over a record whose request died while starting; undefined when someone else has it. */
async function takeOver(record: AlertRecord, deps: AlertHookDeps): Promise<AlertRecord | undefined> {
  if (record.state !== 'Starting' || deps.now() - record.updatedAt < STALE_CLAIM_MS) return undefined;
  try {
    return await deps.records.update(record, { updatedAt: deps.now() });
  } catch (err) {
    if (isTidemarkError(err, 'Conflict')) return undefined;
    throw err;
  }
}

async function act(
  alert: CommonAlert,
  options: AlertOptions,
  deps: AlertHookDeps,
  log: Logger,
  claimed: AlertRecord,
): Promise<AlertAnswer> {
  let starting = false;
  try {
    const { items, unread } = await deps.listItems();
    const mapping = mapAlert(alert, items);
    const skipped = [...unread, ...mapping.skipped];
    logSkipped(log, skipped);
    starting = mapping.eligible.length > 0;
    const decision = await startJobs(mapping.eligible, options, deps, log);
    decision.skipped = [...skipped, ...decision.skipped];
    const done = await deps.records.update(claimed, { state: 'Done', updatedAt: deps.now(), decision });
    log.info('alert: decided', { jobs: decision.jobs.length, skipped: decision.skipped.length });
    return { status: decision.jobs.length > 0 ? 202 : 200, body: decisionBody(done, {}) };
  } catch (err) {
    // Nothing started: give the alert id back so Azure Monitor's retry of this alert can act.
    if (!starting) await deps.records.release(claimed).catch(() => undefined);
    throw err;
  }
}

export async function handleAlert(
  alert: CommonAlert,
  options: AlertOptions,
  deps: AlertHookDeps,
): Promise<AlertAnswer> {
  const log = deps.logger.child({ alertId: alert.alertId });
  log.info('alert: received', {
    alertRule: alert.alertRule,
    monitoringService: alert.monitoringService,
    monitorCondition: alert.monitorCondition,
    targets: alert.alertTargetIDs.length,
    regions: alert.regionNames,
    dryRun: options.dryRun,
    recoveryPoint: describeChoice(options.recoveryPoint),
  });
  const ignored = whyIgnored(alert);
  if (ignored) {
    log.info('alert: ignored', { ...ignored });
    return { status: 200, body: { alertId: alert.alertId, ...ignored } };
  }

  if (options.dryRun) {
    const { items, unread } = await deps.listItems();
    const mapping = mapAlert(alert, items);
    const skipped = [...unread, ...mapping.skipped];
    const handled = await deps.records.get(alert.alertId);
    const wouldStart = mapping.eligible.map((c) => ({
      vm: vmOf(c.item),
      direction: c.direction,
      state: c.item.state,
    }));
    for (const w of wouldStart) log.info('alert: dry run would start a failover', { vm: w.vm });
    logSkipped(log, skipped);
    return {
      status: 200,
      body: {
        alertId: alert.alertId,
        dryRun: true,
        recoveryPoint: describeChoice(options.recoveryPoint),
        alreadyHandled: handled !== undefined,
        wouldStart,
        jobs: [],
        skipped,
      },
    };
  }

  const now = deps.now();
  const { won, record } = await deps.records.claim({
    alertId: alert.alertId,
    state: 'Starting',
    receivedAt: now,
    updatedAt: now,
    ...(alert.alertRule ? { alertRule: alert.alertRule } : {}),
    monitoringService: alert.monitoringService,
    recoveryPoint: describeChoice(options.recoveryPoint),
  });
  if (won) return act(alert, options, deps, log, record);
  const takenOver = await takeOver(record, deps);
  if (takenOver) {
    log.warn('alert: taking over a record whose request never finished', {
      receivedAt: new Date(record.receivedAt).toISOString(),
    });
    return act(alert, options, deps, log, takenOver);
  }
  const final = await settled(alert.alertId, record, deps);
  const inProgress = final.state !== 'Done';
  log.info('alert: deduplicated (already received)', {
    receivedAt: new Date(final.receivedAt).toISOString(),
    jobs: final.decision?.jobs.map((j) => j.jobId) ?? [],
    inProgress,
  });
  return {
    status: 200,
    body: decisionBody(final, { duplicate: true, ...(inProgress ? { inProgress } : {}) }),
  };
}
