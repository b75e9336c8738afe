// Request bodies from form values, errors as the API words them, and what the page reads off jobs.
// Pure functions: no DOM, no network.

import { localInputToIso, vmKey } from './format.js';

/** @typedef {'latest' | 'latestProcessed' | 'latestAppConsistent'} NamedChoice */
/** @typedef {NamedChoice | {id: string} | {time: string}} RecoveryPointChoice */

export const NAMED_CHOICES = /** @type {const} */ (['latest', 'latestProcessed', 'latestAppConsistent']);

/** Labels of the point picker's choices. */
export const CHOICE_LABELS = {
  latest: 'Latest (drains the cache first: the least data loss)',
  latestProcessed: 'Latest processed (the newest point already cut: the fastest)',
  latestAppConsistent: 'Latest app-consistent',
  point: 'A recovery point from the list',
  time: 'A point in time',
};

/** Thrown for a form that cannot become a request; `errors` are `{path, message}` like the API's. */
export class FormError extends Error {
  /**
   * @param {string} message
   * @param {{path: string, message: string}[]} errors
   */
  constructor(message, errors) {
    super(message);
    this.name = 'FormError';
    this.errors = errors;
  }
}

/**
 * The `recoveryPoint` of a failover or test failover from the point picker.
 * @param {{mode: string, pointId?: string, time?: string}} form `time` is a `datetime-local` value.
 * @returns {RecoveryPointChoice}
 */
export function recoveryPointChoice(form) {
  if (/** @type {readonly string[]} */ (NAMED_CHOICES).includes(form.mode)) {
    return /** @type {NamedChoice} */ (form.mode);
  }
  if (form.mode === 'point') {
    if (!form.pointId) {
      throw new FormError('Choose a recovery point.', [
        { path: 'recoveryPoint.id', message: 'choose a recovery point from the list' },
      ]);
    }
    return { id: form.pointId };
  }
  if (form.mode === 'time') {
    const iso = localInputToIso(form.time ?? '');
    if (!iso) {
      throw new FormError('Enter a date and time.', [
        { path: 'recoveryPoint.time', message: 'enter a date and time (your local time)' },
      ]);
    }
    return { time: iso };
  }
  throw new FormError('Choose a recovery point.', [{ path: 'recoveryPoint', message: 'choose one' }]);
}

/**
 * The choice in a few words, for confirmations: `latest processed`, `rp-1-7`, `2026-… (UTC)`.
 * @param {RecoveryPointChoice} choice
 */
export function describeChoice(choice) {
  if (typeof choice === 'string') return choice.replace(/([A-Z])/g, ' $1').toLowerCase();
  if ('id' in choice) return choice.id;
  return `${choice.time.replace('T', ' ').replace(/\.\d+Z$|Z$/, '')} UTC`;
}

/**
 * @param {string | undefined} text
 * @param {string} path
 * @param {{min: number, max: number}} range
 * @param {{path: string, message: string}[]} errors
 */
function optionalInt(text, path, range, errors) {
  const t = (text ?? '').trim();
  if (t === '') return undefined;
  const n = Number(t);
  if (!Number.isInteger(n) || n < range.min || n > range.max) {
    errors.push({ path, message: `must be a whole number from ${range.min} to ${range.max}` });
    return undefined;
  }
  return n;
}

/**
 * The enable-replication body from its form: blank fields are left out (the server's defaults).
 * @param {{targetResourceGroup?: string, targetVnet?: string, targetAvailabilitySet?: string,
 *   retentionHours?: string, appConsistentFrequencyMinutes?: string}} form
 */
export function enableBody(form) {
  /** @type {{path: string, message: string}[]} */
  const errors = [];
  /** @type {Record<string, unknown>} */
  const body = {};
  for (const key of /** @type {const} */ (['targetResourceGroup', 'targetVnet', 'targetAvailabilitySet'])) {
    const value = (form[key] ?? '').trim();
    if (value) body[key] = value;
  }
  /** @type {Record<string, number>} */
  const policy = {};
  const retention = optionalInt(form.retentionHours, 'policy.retentionHours', { min: 0, max: 360 }, errors);
  if (retention !== undefined) policy.retentionHours = retention;
  const frequency = optionalInt(
    form.appConsistentFrequencyMinutes,
    'policy.appConsistentFrequencyMinutes',
    { min: 0, max: 720 },
    errors,
  );
  if (frequency !== undefined) policy.appConsistentFrequencyMinutes = frequency;
  if (errors.length > 0) throw new FormError('Some fields are not valid.', errors);
  if (Object.keys(policy).length > 0) body.policy = policy;
  return body;
}

/**
 * @param {{mode: string, pointId?: string, time?: string, shutdownSource?: boolean}} form
 */
export function failoverBody(form) {
  return { recoveryPoint: recoveryPointChoice(form), shutdownSource: Boolean(form.shutdownSource) };
}

/**
 * @param {{mode: string, pointId?: string, time?: string, network?: string}} form
 */
export function testFailoverBody(form) {
  /** @type {{recoveryPoint: RecoveryPointChoice, network?: string}} */
  const body = { recoveryPoint: recoveryPointChoice(form) };
  const network = (form.network ?? '').trim();
  if (network) body.network = network;
  return body;
}

/**
 * @typedef {object} ProblemView
 * @property {string} title
 * @property {string} [detail]
 * @property {string} [hint]
 * @property {{path: string, message: string}[]} errors
 * @property {number} [status]
 * @property {string} [code]
 */

/**
 * An error answer as the page shows it: the problem+json's own words when it is one, else the
 * status and whatever text came.
 * @param {number} status
 * @param {unknown} body Parsed JSON, or a string.
 * @param {string} [statusText]
 * @returns {ProblemView}
 */
export function problemView(status, body, statusText) {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const p = /** @type {Record<string, unknown>} */ (body);
    const errors = Array.isArray(p.errors)
      ? p.errors
          .filter((e) => e && typeof e === 'object')
          .map((e) => ({ path: String(e.path ?? ''), message: String(e.message ?? '') }))
      : [];
    if (typeof p.title === 'string' || typeof p.detail === 'string') {
      return {
        title: typeof p.title === 'string' ? p.title : `HTTP ${status}`,
        ...(typeof p.detail === 'string' ? { detail: p.detail } : {}),
        ...(typeof p.hint === 'string' ? { hint: p.hint } : {}),
        errors,
        status,
        ...(typeof p.code === 'string' ? { code: p.code } : {}),
      };
    }
  }
  const text = typeof body === 'string' ? body.trim().slice(0, 500) : '';
  return {
    title: `HTTP ${status}${statusText ? ` ${statusText}` : ''}`,
    ...(text ? { detail: text } : {}),
    errors: [],
    status,
  };
}

/**
 * @typedef {object} JobStep
 * @property {string} name
 * @property {string} state
 * @property {string} [startedAt]
 * @property {string} [endedAt]
 * @property {number} [progress]
 * @property {string} [error]
 * @property {string} [warning]
 */

/**
 * @typedef {object} Job
 * @property {string} id
 * @property {string | null} kind
 * @property {{resourceGroup: string, name: string} | null} vm
 * @property {string} state
 * @property {JobStep[]} steps
 * @property {string | null} error
 * @property {unknown} result
 * @property {string | null} [startedAt]
 * @property {string | null} [endedAt]
 */

/**
 * The jobs of one VM (newest first, as the API lists them).
 * @param {Job[]} jobs
 * @param {string} resourceGroup
 * @param {string} name
 */
export function jobsOfVm(jobs, resourceGroup, name) {
  const key = vmKey(resourceGroup, name);
  return jobs.filter((j) => j.vm && vmKey(j.vm.resourceGroup, j.vm.name) === key);
}

/**
 * The initial-replication progress (0–100) of the VM's running enable job, once that step has begun;
 * undefined otherwise.
 * @param {Job[]} jobs
 * @param {string} resourceGroup
 * @param {string} name
 * @returns {number | undefined}
 */
export function initialReplicationProgress(jobs, resourceGroup, name) {
  const job = jobsOfVm(jobs, resourceGroup, name).find(
    (j) => j.kind === 'EnableReplication' && j.state === 'InProgress',
  );
  if (!job) return undefined;
  const step = job.steps.find((s) => s.name === 'Initial replication');
  if (!step || step.state === 'NotStarted') return undefined;
  if (step.state === 'Succeeded') return 100;
  return typeof step.progress === 'number' ? Math.max(0, Math.min(100, step.progress)) : 0;
}

/**
 * What changed between two sightings of the jobs, in sentences for the live region: a new job, a
 * job that ended, a step that started or ended.
 * @param {Map<string, Job>} before
 * @param {Job[]} after
 * @param {(job: Job) => string} name How to call a job: `Enable replication of shop-rg/web1`.
 * @returns {string[]}
 */
export function jobChanges(before, after, name) {
  /** @type {string[]} */
  const out = [];
  for (const job of after) {
    const old = before.get(job.id);
    if (!old) {
      if (job.state === 'InProgress') out.push(`${name(job)} started.`);
      continue;
    }
    if (old.state !== job.state) {
      out.push(
        job.state === 'Failed' && job.error
          ? `${name(job)} failed: ${job.error}`
          : `${name(job)}: ${job.state === 'Succeeded' ? 'succeeded' : job.state.toLowerCase()}.`,
      );
      continue;
    }
    for (const step of job.steps) {
      const was = old.steps.find((s) => s.name === step.name);
      if (was && was.state !== step.state && step.state !== 'NotStarted') {
        out.push(`${name(job)}: ${step.name} ${stepWord(step.state)}.`);
      }
    }
  }
  return out;
}

/** @param {string} state */
function stepWord(state) {
  switch (state) {
    case 'InProgress':
      return 'in progress';
    case 'Succeeded':
      return 'succeeded';
    case 'Failed':
      return 'failed';
    case 'Skipped':
      return 'skipped';
    default:
      return state;
  }
}
