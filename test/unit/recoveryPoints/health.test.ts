import { describe, expect, it } from 'vitest';

import type { ProtectedItem } from '../../../shared/protectedItems';
import { assessHealth } from '../../../shared/recoveryPoints/health';

const NOW = Date.UTC(2026, 0, 1, 12);
const MIN = 60_000;

function item(overrides: Partial<ProtectedItem> = {}): ProtectedItem {
  return {
    resourceGroup: 'rg',
    vm: 'vm',
    state: 'Protected',
    generation: 1,
    disks: [],
    applyEnabled: true,
    watermark: 10,
    watermarkTime: NOW - 30_000,
    lastRecoveryPointAt: NOW - 5 * MIN,
    ...overrides,
  };
}

describe('health', () => {
  it('is Healthy with a small RPO and a recent point', () => {
    expect(assessHealth(item(), NOW)).toEqual({ rpoSeconds: 30, health: 'Healthy', reasons: [] });
  });

  it('warns over 15 minutes of RPO and is Critical over 30', () => {
    expect(assessHealth(item({ watermarkTime: NOW - 15 * MIN }), NOW).health).toBe('Healthy');
    const warn = assessHealth(item({ watermarkTime: NOW - 15 * MIN - 1000 }), NOW);
    expect(warn).toMatchObject({ rpoSeconds: 901, health: 'Warning' });
    expect(warn.reasons).toEqual(['RPO is 15 min 1 s, over 15 min']);
    expect(assessHealth(item({ watermarkTime: NOW - 30 * MIN }), NOW).health).toBe('Warning');
    const critical = assessHealth(item({ watermarkTime: NOW - 31 * MIN }), NOW);
    expect(critical).toMatchObject({ rpoSeconds: 1860, health: 'Critical' });
    expect(critical.reasons).toEqual(['RPO is 31 min, over 30 min']);
  });

  it('is Critical with no recovery point in the last 60 minutes', () => {
    expect(assessHealth(item({ lastRecoveryPointAt: NOW - 60 * MIN }), NOW).health).toBe('Healthy');
    const late = assessHealth(item({ lastRecoveryPointAt: NOW - 61 * MIN }), NOW);
    expect(late.health).toBe('Critical');
    expect(late.reasons[0]).toMatch(/No recovery point in the last 60 min/);
    expect(assessHealth(item({ lastRecoveryPointAt: undefined }), NOW).reasons).toEqual([
      'No recovery point yet',
    ]);
  });

  it('is Critical when a resync is needed, whatever the RPO', () => {
    const h = assessHealth(
      item({ state: 'ResyncRequired', applyEnabled: false, resyncReason: 'delta 7 failed validation' }),
      NOW,
    );
    expect(h).toMatchObject({ health: 'Critical', reasons: ['Resync required: delta 7 failed validation'] });
  });

  it('lists every reason, critical ones first', () => {
    const h = assessHealth(
      item({ watermarkTime: NOW - 20 * MIN, lastRecoveryPointAt: NOW - 2 * 60 * MIN }),
      NOW,
    );
    expect(h.health).toBe('Critical');
    expect(h.reasons).toHaveLength(2);
    expect(h.reasons[0]).toMatch(/No recovery point/);
    expect(h.reasons[1]).toMatch(/RPO is 20 min/);
  });

  it('has no RPO before anything is applied, and judges no points during initial replication', () => {
    const h = assessHealth(
      item({
        state: 'InitialReplication',
        applyEnabled: false,
        watermarkTime: undefined,
        lastRecoveryPointAt: undefined,
      }),
      NOW,
    );
    expect(h).toEqual({ rpoSeconds: undefined, health: 'Healthy', reasons: [] });
  });

  it('never reports a negative RPO when the source clock runs ahead', () => {
    expect(assessHealth(item({ watermarkTime: NOW + 5000 }), NOW).rpoSeconds).toBe(0);
  });
});
