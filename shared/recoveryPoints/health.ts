/**
 * A protected item's RPO and health (DESIGN §6), pure. RPO = now − source time of the newest applied
 * write or heartbeat: an idle source's heartbeats keep it small, so it grows only when replication
 * really falls behind. Warning: RPO over 15 min. Critical: RPO over 30 min, no recovery point in the
 * last 60 min, or a resync needed.
 */
import type { ItemHealth, ProtectedItem } from '../protectedItems';

export const RPO_WARNING_SECONDS = 15 * 60;
export const RPO_CRITICAL_SECONDS = 30 * 60;
export const NO_POINT_CRITICAL_MS = 60 * 60_000;

export interface HealthAssessment {
  rpoSeconds?: number;
  health: ItemHealth;
  reasons: string[];
}

export type HealthInput = Pick<
  ProtectedItem,
  'state' | 'applyEnabled' | 'watermarkTime' | 'resyncReason' | 'lastRecoveryPointAt'
>;

function minutes(ms: number): string {
  return `${Math.floor(ms / 60_000)} min`;
}

function duration(seconds: number): string {
  return seconds % 60 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s` : minutes(seconds * 1000);
}

export function assessHealth(item: HealthInput, now: number): HealthAssessment {
  const rpoSeconds =
    item.watermarkTime === undefined ? undefined : Math.max(0, Math.floor((now - item.watermarkTime) / 1000));
  const critical: string[] = [];
  const warning: string[] = [];
  if (item.state === 'ResyncRequired') {
    critical.push(`Resync required: ${item.resyncReason ?? 'no reason recorded'}`);
  }
  // RPO and recovery points only mean something while deltas are being applied.
  const replicating = item.applyEnabled && item.state !== 'ResyncRequired' && item.state !== 'Disabling';
  if (replicating && rpoSeconds !== undefined) {
    if (rpoSeconds > RPO_CRITICAL_SECONDS) {
      critical.push(`RPO is ${duration(rpoSeconds)}, over ${duration(RPO_CRITICAL_SECONDS)}`);
    } else if (rpoSeconds > RPO_WARNING_SECONDS) {
      warning.push(`RPO is ${duration(rpoSeconds)}, over ${duration(RPO_WARNING_SECONDS)}`);
    }
  }
  if (replicating) {
    if (item.lastRecoveryPointAt === undefined) {
      if (item.state === 'Protected') critical.push('No recovery point yet');
    } else if (now - item.lastRecoveryPointAt > NO_POINT_CRITICAL_MS) {
      critical.push(
        `No recovery point in the last ${minutes(NO_POINT_CRITICAL_MS)} (newest ${minutes(now - item.lastRecoveryPointAt)} ago)`,
      );
    }
  }
  const health: ItemHealth = critical.length ? 'Critical' : warning.length ? 'Warning' : 'Healthy';
  return { rpoSeconds, health, reasons: [...critical, ...warning] };
}
