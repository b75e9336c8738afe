/**
 * Alerts that never start a failover. A metric or log alert says it is over with monitorCondition
 * `Resolved`. Activity-log alerts (Service Health, Resource Health) are always `Fired`: they say it
 * in their context instead (an incident update at stage Resolved, a resource back to Available). A
 * Resource Health event caused by a user (someone stopped or deallocated the VM, or tidemark's own
 * failover shut the source down) is not a disaster either.
 */
import type { CommonAlert } from './schema';

export type IgnoredBecause = 'resolved' | 'userInitiated';

export interface Ignored {
  ignored: IgnoredBecause;
  reason: string;
}

const OVER_STAGES = new Set(['resolved', 'complete', 'completed', 'rca', 'postincidentreview']);

export function whyIgnored(alert: CommonAlert): Ignored | undefined {
  if (alert.monitorCondition === 'Resolved') {
    return { ignored: 'resolved', reason: 'The alert is resolved (monitorCondition Resolved).' };
  }
  const status = alert.status?.toLowerCase();
  const stage = alert.stage?.toLowerCase().replace(/[^a-z]/g, '');
  if (alert.kind === 'ServiceHealth' && (status === 'resolved' || (stage && OVER_STAGES.has(stage)))) {
    return {
      ignored: 'resolved',
      reason: `The Service Health event is over (stage ${alert.stage ?? alert.status}).`,
    };
  }
  if (alert.kind === 'ResourceHealth') {
    if (status === 'resolved' || stage === 'available') {
      return {
        ignored: 'resolved',
        reason: `The resource is healthy again (${alert.stage ?? alert.status}).`,
      };
    }
    if (alert.cause?.toLowerCase() === 'userinitiated') {
      return {
        ignored: 'userInitiated',
        reason:
          'The Resource Health event was initiated by a user (the VM was stopped or changed on purpose).',
      };
    }
  }
  return undefined;
}
