/**
 * A protected item's replication policy with Site Recovery's defaults: retention 1 day, app-consistent
 * points off. Requests are validated with the schema; a stored policy is read with effectivePolicy,
 * which fills defaults and clamps what is out of range rather than stop cutting points.
 */
import { z } from 'zod';

import type { ReplicationPolicy } from '../protectedItems';

export const MAX_RETENTION_HOURS = 15 * 24;
export const MIN_APP_CONSISTENT_MINUTES = 60;
export const MAX_APP_CONSISTENT_MINUTES = 12 * 60;

export const DEFAULT_POLICY: ReplicationPolicy = { retentionHours: 24, appConsistentFrequencyMinutes: 0 };

export const policySchema = z.object({
  retentionHours: z.number().int().min(0).max(MAX_RETENTION_HOURS).default(DEFAULT_POLICY.retentionHours),
  appConsistentFrequencyMinutes: z
    .number()
    .int()
    .refine((m) => m === 0 || (m >= MIN_APP_CONSISTENT_MINUTES && m <= MAX_APP_CONSISTENT_MINUTES), {
      message: `must be 0 (off) or ${MIN_APP_CONSISTENT_MINUTES} to ${MAX_APP_CONSISTENT_MINUTES} minutes`,
    })
    .default(DEFAULT_POLICY.appConsistentFrequencyMinutes),
});

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(value)));
}

export function effectivePolicy(policy: Partial<ReplicationPolicy> | undefined): ReplicationPolicy {
  const retention = Number(policy?.retentionHours ?? DEFAULT_POLICY.retentionHours);
  const frequency = Number(
    policy?.appConsistentFrequencyMinutes ?? DEFAULT_POLICY.appConsistentFrequencyMinutes,
  );
  return {
    retentionHours: Number.isFinite(retention)
      ? clamp(retention, 0, MAX_RETENTION_HOURS)
      : DEFAULT_POLICY.retentionHours,
    appConsistentFrequencyMinutes:
      !Number.isFinite(frequency) || frequency <= 0
        ? 0
        : clamp(frequency, MIN_APP_CONSISTENT_MINUTES, MAX_APP_CONSISTENT_MINUTES),
  };
}
