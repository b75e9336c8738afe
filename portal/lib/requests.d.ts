// Generated from requests.js's JSDoc by test/unit/portal/declarations.test.ts; do not edit.
// UPDATE_PORTAL_DTS=1 npx vitest run test/unit/portal/declarations.test.ts rewrites it.
/**
 * The `recoveryPoint` of a failover or test failover from the point picker.
 * @param {{mode: string, pointId?: string, time?: string}} form `time` is a `datetime-local` value.
 * @returns {RecoveryPointChoice}
 */
export function recoveryPointChoice(form: {
  mode: string;
  pointId?: string;
  time?: string;
}): RecoveryPointChoice;
/**
 * The choice in a few words, for confirmations: `latest processed`, `rp-1-7`, `2026-… (UTC)`.
 * @param {RecoveryPointChoice} choice
 */
export function describeChoice(choice: RecoveryPointChoice): string;
/**
 * The enable-replication body from its form: blank fields are left out (the server's defaults).
 * @param {{targetResourceGroup?: string, targetVnet?: string, targetAvailabilitySet?: string,
 *   retentionHours?: string, appConsistentFrequencyMinutes?: string}} form
 */
export function enableBody(form: {
  targetResourceGroup?: string;
  targetVnet?: string;
  targetAvailabilitySet?: string;
  retentionHours?: string;
  appConsistentFrequencyMinutes?: string;
}): Record<string, unknown>;
/**
 * @param {{mode: string, pointId?: string, time?: string, shutdownSource?: boolean}} form
 */
export function failoverBody(form: {
  mode: string;
  pointId?: string;
  time?: string;
  shutdownSource?: boolean;
}): {
  recoveryPoint: RecoveryPointChoice;
  shutdownSource: boolean;
};
/**
 * @param {{mode: string, pointId?: string, time?: string, network?: string}} form
 */
export function testFailoverBody(form: { mode: string; pointId?: string; time?: string; network?: string }): {
  recoveryPoint: RecoveryPointChoice;
  network?: string;
};
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
export function problemView(status: number, body: unknown, statusText?: string): ProblemView;
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
export function jobsOfVm(jobs: Job[], resourceGroup: string, name: string): Job[];
/**
 * The initial-replication progress (0–100) of the VM's running enable job, once that step has begun;
 * undefined otherwise.
 * @param {Job[]} jobs
 * @param {string} resourceGroup
 * @param {string} name
 * @returns {number | undefined}
 */
export function initialReplicationProgress(
  jobs: Job[],
  resourceGroup: string,
  name: string,
): number | undefined;
/**
 * What changed between two sightings of the jobs, in sentences for the live region: a new job, a
 * job that ended, a step that started or ended.
 * @param {Map<string, Job>} before
 * @param {Job[]} after
 * @param {(job: Job) => string} name How to call a job: `Enable replication of shop-rg/web1`.
 * @returns {string[]}
 */
export function jobChanges(before: Map<string, Job>, after: Job[], name: (job: Job) => string): string[];
/** @typedef {'latest' | 'latestProcessed' | 'latestAppConsistent'} NamedChoice */
/** @typedef {NamedChoice | {id: string} | {time: string}} RecoveryPointChoice */
export const NAMED_CHOICES: readonly ['latest', 'latestProcessed', 'latestAppConsistent'];
export namespace CHOICE_LABELS {
  let latest: string;
  let latestProcessed: string;
  let latestAppConsistent: string;
  let point: string;
  let time: string;
}
/** Thrown for a form that cannot become a request; `errors` are `{path, message}` like the API's. */
export class FormError extends Error {
  /**
   * @param {string} message
   * @param {{path: string, message: string}[]} errors
   */
  constructor(
    message: string,
    errors: {
      path: string;
      message: string;
    }[],
  );
  errors: {
    path: string;
    message: string;
  }[];
}
export type ProblemView = {
  title: string;
  detail?: string | undefined;
  hint?: string | undefined;
  errors: {
    path: string;
    message: string;
  }[];
  status?: number | undefined;
  code?: string | undefined;
};
export type JobStep = {
  name: string;
  state: string;
  startedAt?: string | undefined;
  endedAt?: string | undefined;
  progress?: number | undefined;
  error?: string | undefined;
  warning?: string | undefined;
};
export type Job = {
  id: string;
  kind: string | null;
  vm: {
    resourceGroup: string;
    name: string;
  } | null;
  state: string;
  steps: JobStep[];
  error: string | null;
  result: unknown;
  startedAt?: string | null | undefined;
  endedAt?: string | null | undefined;
};
export type NamedChoice = 'latest' | 'latestProcessed' | 'latestAppConsistent';
export type RecoveryPointChoice =
  | NamedChoice
  | {
      id: string;
    }
  | {
      time: string;
    };
