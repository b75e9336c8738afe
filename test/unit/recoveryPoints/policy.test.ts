import { describe, expect, it } from 'vitest';

import { DEFAULT_POLICY, effectivePolicy, policySchema } from '../../../shared/recoveryPoints/policy';
import { parseRecoveryPointId, recoveryPointId } from '../../../shared/recoveryPoints/types';
import { catalogRowKey } from '../../../shared/recoveryPoints/catalog';

describe('replication policy', () => {
  it('defaults to 1 day of retention and app-consistent points off', () => {
    expect(effectivePolicy(undefined)).toEqual(DEFAULT_POLICY);
    expect(DEFAULT_POLICY).toEqual({ retentionHours: 24, appConsistentFrequencyMinutes: 0 });
    expect(policySchema.parse({})).toEqual(DEFAULT_POLICY);
  });

  it('validates requests: 0 to 360 hours, app-consistent 0 or 60 to 720 minutes', () => {
    expect(policySchema.safeParse({ retentionHours: 360, appConsistentFrequencyMinutes: 60 }).success).toBe(
      true,
    );
    expect(policySchema.safeParse({ retentionHours: 361 }).success).toBe(false);
    expect(policySchema.safeParse({ retentionHours: -1 }).success).toBe(false);
    expect(policySchema.safeParse({ appConsistentFrequencyMinutes: 30 }).success).toBe(false);
    expect(policySchema.safeParse({ appConsistentFrequencyMinutes: 721 }).success).toBe(false);
  });

  it('clamps a stored policy that is out of range instead of failing', () => {
    expect(effectivePolicy({ retentionHours: 1000, appConsistentFrequencyMinutes: 5 })).toEqual({
      retentionHours: 360,
      appConsistentFrequencyMinutes: 60,
    });
    expect(effectivePolicy({ retentionHours: -3, appConsistentFrequencyMinutes: -1 })).toEqual({
      retentionHours: 0,
      appConsistentFrequencyMinutes: 0,
    });
  });
});

describe('recovery point ids and catalog keys', () => {
  it('round-trips ids and rejects anything else', () => {
    expect(parseRecoveryPointId(recoveryPointId(3, 42))).toEqual({ generation: 3, sequence: 42 });
    for (const bad of ['rp-1', 'rp-01-2', 'x-1-2', 'rp-1-2-3', 'rp-1-99999999999999999999']) {
      expect(parseRecoveryPointId(bad)).toBeUndefined();
    }
  });

  it('sorts row keys newest first: later generation, then higher sequence', () => {
    const keys = [
      catalogRowKey(1, 5),
      catalogRowKey(2, 1),
      catalogRowKey(1, 10),
      catalogRowKey(2, 100),
    ].sort();
    expect(keys).toEqual([
      catalogRowKey(2, 100),
      catalogRowKey(2, 1),
      catalogRowKey(1, 10),
      catalogRowKey(1, 5),
    ]);
  });
});
