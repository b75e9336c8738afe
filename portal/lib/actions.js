// Which actions a VM offers, by its protected item's state and records. The server decides (409 with
// the reason otherwise); these rules mirror shared/jobs/workflowRules.ts (WORKFLOW_RULES and
// itemRefusal) and enableRules.ts so the page only offers what can start. A unit test checks they
// agree.

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
export const ACTIONS = [
  {
    id: 'enable',
    kind: 'EnableReplication',
    label: 'Enable replication',
    route: 'enable-replication',
    destructive: false,
    form: true,
  },
  {
    id: 'failover',
    kind: 'Failover',
    label: 'Failover',
    route: 'failover',
    destructive: true,
    form: true,
  },
  {
    id: 'testFailover',
    kind: 'TestFailover',
    label: 'Test failover',
    route: 'test-failover',
    destructive: false,
    form: true,
  },
  {
    id: 'testFailoverCleanup',
    kind: 'TestFailoverCleanup',
    label: 'Cleanup test failover',
    route: 'test-failover-cleanup',
    destructive: true,
    form: false,
  },
  {
    id: 'commitFailover',
    kind: 'CommitFailover',
    label: 'Commit',
    route: 'commit-failover',
    destructive: true,
    form: false,
  },
  {
    id: 'reprotect',
    kind: 'Reprotect',
    label: 'Reprotect',
    route: 'reprotect',
    destructive: false,
    form: false,
  },
  {
    id: 'disableReplication',
    kind: 'DisableReplication',
    label: 'Disable replication',
    route: 'disable-replication',
    destructive: true,
    form: false,
  },
];

/** States each workflow may start from (shared/jobs/workflowRules.ts WORKFLOW_RULES). */
export const ALLOWED_FROM = {
  Failover: ['Protected', 'ResyncRequired', 'FailedOver'],
  TestFailover: ['Protected', 'ResyncRequired'],
  TestFailoverCleanup: ['TestFailedOver', 'ResyncRequired'],
  CommitFailover: ['FailedOver'],
  Reprotect: ['FailoverCommitted'],
  DisableReplication: [
    'Enabling',
    'InitialReplication',
    'Protected',
    'ResyncRequired',
    'FailedOver',
    'FailoverCommitted',
  ],
};

/** States a failed enable leaves, from which enabling again starts over (enableRules.ts). */
export const ENABLE_RESTARTABLE = ['Enabling', 'InitialReplication'];

/**
 * @param {string} id
 * @returns {ActionSpec | undefined}
 */
export function actionById(id) {
  return ACTIONS.find((a) => a.id === id);
}

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
export function allowedActions(ctx) {
  const item = ctx.protectedItem;
  const inSource = !ctx.sourceRegion || ctx.region.toLowerCase() === ctx.sourceRegion.toLowerCase();
  if (!item) return inSource && !ctx.jobRunning ? ['enable'] : [];
  if (item.activeJob || ctx.jobRunning) return [];
  /** @type {ActionId[]} */
  const out = [];
  for (const action of ACTIONS) {
    if (action.id === 'enable') {
      if (inSource && ENABLE_RESTARTABLE.includes(item.state)) out.push('enable');
      continue;
    }
    const from = /** @type {Record<string, string[]>} */ (ALLOWED_FROM)[action.kind];
    if (!from?.includes(item.state)) continue;
    // While a test VM is up only its cleanup may run; without one there is nothing to clean up (a
    // TestFailedOver item that does not show its record still offers it: the server has the say).
    if (action.id === 'testFailoverCleanup') {
      if (!item.testFailover && item.state !== 'TestFailedOver') continue;
    } else if (item.testFailover) continue;
    out.push(action.id);
  }
  return out;
}

/**
 * What the confirmation dialog says before a destructive (or far-reaching) action.
 * @param {ActionId} id
 * @param {{vm: string, targetRegion?: string, point?: string}} facts
 * @returns {{title: string, message: string, confirmLabel: string, danger: boolean}}
 */
export function confirmationFor(id, facts) {
  const where = facts.targetRegion ? ` in ${facts.targetRegion}` : '';
  switch (id) {
    case 'failover':
      return {
        title: `Fail over ${facts.vm}?`,
        message:
          `The VM is started${where} from the ${facts.point ?? 'chosen'} recovery point. ` +
          'Writes to the source after that point are not in it.',
        confirmLabel: 'Fail over',
        danger: true,
      };
    case 'testFailoverCleanup':
      return {
        title: `Clean up the test failover of ${facts.vm}?`,
        message: 'The test VM, its disks and NIC, and a test network the test failover created are deleted.',
        confirmLabel: 'Clean up',
        danger: true,
      };
    case 'commitFailover':
      return {
        title: `Commit the failover of ${facts.vm}?`,
        message:
          'The failed-over VM stays on its recovery point for good: its other recovery points are deleted ' +
          'and the recovery point can no longer be changed.',
        confirmLabel: 'Commit',
        danger: true,
      };
    case 'disableReplication':
      return {
        title: `Disable replication of ${facts.vm}?`,
        message:
          'Replication stops and what tidemark keeps for this VM (replicas, recovery points, cached ' +
          'changes) is deleted. The VM itself is not touched.',
        confirmLabel: 'Disable replication',
        danger: true,
      };
    case 'reprotect':
      return {
        title: `Reprotect ${facts.vm}?`,
        message: 'The failed-over VM starts replicating back to the original region.',
        confirmLabel: 'Reprotect',
        danger: false,
      };
    default:
      return { title: `${id} ${facts.vm}?`, message: '', confirmLabel: 'Start', danger: false };
  }
}
