/**
 * Which protected-item states each workflow may start from, the state the item shows while it runs,
 * and why a start is refused otherwise (DESIGN §6: 409 with the reason). Enable replication has its
 * own rules (enableRules.ts): it starts from no item.
 */
import type { ProtectedItem, ProtectedItemState } from '../protectedItems';
import type { JobKind } from './types';

export type ClaimedKind = Exclude<JobKind, 'EnableReplication'>;

export interface WorkflowRule {
  /** States the workflow may start from. */
  from: readonly ProtectedItemState[];
  /** The state while it runs (absent: the state stays as it was). */
  during?: ProtectedItemState;
  /** The action in words, for messages: "fail over", "commit the failover". */
  action: string;
}

export const WORKFLOW_RULES: Record<ClaimedKind, WorkflowRule> = {
  // From FailedOver it changes the recovery point of the failed-over VM.
  Failover: {
    from: ['Protected', 'ResyncRequired', 'FailedOver'],
    during: 'FailoverInProgress',
    action: 'fail over',
  },
  TestFailover: {
    from: ['Protected', 'ResyncRequired'],
    during: 'TestFailoverInProgress',
    action: 'run a test failover',
  },
  // ResyncRequired: the applier flagged the item while its test VM was up; cleanup still has to run.
  TestFailoverCleanup: {
    from: ['TestFailedOver', 'ResyncRequired'],
    during: 'TestFailoverInProgress',
    action: 'clean up the test failover',
  },
  CommitFailover: { from: ['FailedOver'], action: 'commit the failover' },
  Reprotect: { from: ['FailoverCommitted'], during: 'Reprotecting', action: 'reprotect' },
  DisableReplication: {
    from: [
      'Enabling',
      'InitialReplication',
      'Protected',
      'ResyncRequired',
      'FailedOver',
      'FailoverCommitted',
    ],
    during: 'Disabling',
    action: 'disable replication',
  },
};

/** What to do first, by the state that refuses the action. */
const NEXT_STEP: Partial<Record<ProtectedItemState, string>> = {
  Enabling: 'Wait for enable replication to finish.',
  InitialReplication: 'Wait for the initial replication to finish.',
  Protected: 'Fail the VM over first.',
  FailoverInProgress: 'Wait for the failover to finish.',
  FailedOver: 'Commit the failover (or change its recovery point) first.',
  FailoverCommitted: 'Reprotect the VM, or disable replication.',
  TestFailoverInProgress: 'Wait for the test failover (or its cleanup) to finish.',
  TestFailedOver: 'Clean up the test failover first.',
  Reprotecting: 'Wait for reprotect to finish.',
  Disabling: 'Wait for disable replication to finish.',
};

/** The sentence a 409 carries when `state` refuses `kind`; undefined when it allows it. */
export function refusal(
  kind: ClaimedKind,
  vmId: string,
  state: ProtectedItemState,
): { message: string; hint?: string } | undefined {
  const rule = WORKFLOW_RULES[kind];
  if (rule.from.includes(state)) return undefined;
  return {
    message: `Can't ${rule.action} for VM ${vmId}: its protected item is ${state}; that is possible only when it is ${rule.from.join(' or ')}.`,
    hint: NEXT_STEP[state],
  };
}

/** `refusal` by state, then what the item's records forbid; undefined when the item allows `kind`. */
export function itemRefusal(
  kind: ClaimedKind,
  item: Pick<ProtectedItem, 'resourceGroup' | 'vm' | 'state' | 'testFailover'>,
): { message: string; hint?: string } | undefined {
  const vmId = `${item.resourceGroup}/${item.vm}`;
  const byState = refusal(kind, vmId, item.state);
  if (byState) return byState;
  // A test VM is up (the item may show ResyncRequired over TestFailedOver): only cleanup may run.
  if (item.testFailover && kind !== 'TestFailoverCleanup') {
    return {
      message: `Can't ${WORKFLOW_RULES[kind].action} for VM ${vmId}: its test failover VM ${item.testFailover.vm.resourceGroup}/${item.testFailover.vm.name} is still up.`,
      hint: NEXT_STEP.TestFailedOver,
    };
  }
  if (kind === 'TestFailoverCleanup' && !item.testFailover) {
    return { message: `VM ${vmId} has no test failover to clean up.` };
  }
  return undefined;
}
