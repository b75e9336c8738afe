// Generated from actions.js's JSDoc by test/unit/portal/declarations.test.ts; do not edit.
// UPDATE_PORTAL_DTS=1 npx vitest run test/unit/portal/declarations.test.ts rewrites it.
/**
 * @param {string} id
 * @returns {ActionSpec | undefined}
 */
export function actionById(id: string): ActionSpec | undefined;
/**
 * @typedef {object} ActionContext
 * @property {string} region The VM's region.
 * @property {string} [sourceRegion] The region VMs are protected from (from /api/health); unknown: any.
 * @property {{state: string, activeJob?: {id: string, kind: string} | null, testFailover?: object | null}
 *   | null} protectedItem `testFailover` is set while a test VM is up.
 * @property {boolean} [jobRunning] Whether a job of this VM is in progress (from the jobs list).
 */
/**
 * The actions the page offers for a VM, in display order. Nothing while a job holds the item.
 * @param {ActionContext} ctx
 * @returns {ActionId[]}
 */
export function allowedActions(ctx: ActionContext): ActionId[];
/**
 * What the confirmation dialog says before a destructive (or far-reaching) action.
 * @param {ActionId} id
 * @param {{vm: string, targetRegion?: string, point?: string}} facts
 * @returns {{title: string, message: string, confirmLabel: string, danger: boolean}}
 */
export function confirmationFor(
  id: ActionId,
  facts: {
    vm: string;
    targetRegion?: string;
    point?: string;
  },
): {
  title: string;
  message: string;
  confirmLabel: string;
  danger: boolean;
};
/**
 * @typedef {'enable' | 'failover' | 'testFailover' | 'testFailoverCleanup' | 'commitFailover'
 *   | 'reprotect' | 'disableReplication'} ActionId
 */
/**
 * @typedef {object} ActionSpec
 * @property {ActionId} id
 * @property {string} kind The job kind it starts.
 * @property {string} label Button text.
 * @property {string} route Path below `vms/{rg}/{vm}/`.
 * @property {boolean} destructive Whether it needs a confirmation dialog.
 * @property {boolean} form Whether it asks for options first.
 */
/** @type {readonly ActionSpec[]} In the order the page shows them. */
export const ACTIONS: readonly ActionSpec[];
export namespace ALLOWED_FROM {
  let Failover: string[];
  let TestFailover: string[];
  let TestFailoverCleanup: string[];
  let CommitFailover: string[];
  let Reprotect: string[];
  let DisableReplication: string[];
}
/** States a failed enable leaves, from which enabling again starts over (enableRules.ts). */
export const ENABLE_RESTARTABLE: string[];
export type ActionContext = {
  /**
   * The VM's region.
   */
  region: string;
  /**
   * The region VMs are protected from (from /api/health); unknown: any.
   */
  sourceRegion?: string | undefined;
  /**
   * `testFailover` is set while a test VM is up.
   */
  protectedItem: {
    state: string;
    activeJob?: {
      id: string;
      kind: string;
    } | null;
    testFailover?: object | null;
  } | null;
  /**
   * Whether a job of this VM is in progress (from the jobs list).
   */
  jobRunning?: boolean | undefined;
};
export type ActionId =
  | 'enable'
  | 'failover'
  | 'testFailover'
  | 'testFailoverCleanup'
  | 'commitFailover'
  | 'reprotect'
  | 'disableReplication';
export type ActionSpec = {
  id: ActionId;
  /**
   * The job kind it starts.
   */
  kind: string;
  /**
   * Button text.
   */
  label: string;
  /**
   * Path below `vms/{rg}/{vm}/`.
   */
  route: string;
  /**
   * Whether it needs a confirmation dialog.
   */
  destructive: boolean;
  /**
   * Whether it asks for options first.
   */
  form: boolean;
};
