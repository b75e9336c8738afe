import { describe, expect, it } from 'vitest';

import { jobKindOf, mapJob } from '../../../shared/jobs/mapJob';
import type { JobCustomStatus } from '../../../shared/jobs/types';

const custom: JobCustomStatus = {
  kind: 'EnableReplication',
  vm: { resourceGroup: 'rg1', name: 'web1' },
  steps: [
    { name: 'Prerequisites check', state: 'Succeeded', startedAt: '2026-01-01T00:00:00.000Z' },
    { name: 'Enable replication', state: 'InProgress', progress: 40 },
  ],
};
const base = {
  instanceId: 'enable-rg1-web1',
  name: 'enableReplication',
  createdTime: new Date('2026-01-01T00:00:00Z'),
  lastUpdatedTime: new Date('2026-01-01T00:01:00Z'),
};

describe('mapJob', () => {
  it('maps a running instance: steps from the custom status, no end', () => {
    expect(mapJob({ ...base, runtimeStatus: 'Running', customStatus: custom })).toEqual({
      id: 'enable-rg1-web1',
      kind: 'EnableReplication',
      vm: { resourceGroup: 'rg1', name: 'web1' },
      state: 'InProgress',
      steps: custom.steps,
      error: null,
      result: null,
      startedAt: '2026-01-01T00:00:00.000Z',
      endedAt: null,
    });
  });

  it('maps Pending without a custom status from the name and input', () => {
    const job = mapJob({
      instanceId: 'x',
      name: 'enableReplication',
      runtimeStatus: 'Pending',
      input: JSON.stringify({ resourceGroup: 'rg1', vm: 'web1' }),
    });
    expect(job).toMatchObject({
      kind: 'EnableReplication',
      vm: { resourceGroup: 'rg1', name: 'web1' },
      state: 'InProgress',
      steps: [],
      startedAt: null,
    });
  });

  it('maps Completed to Succeeded with the output as result and an end time', () => {
    const job = mapJob({
      ...base,
      runtimeStatus: 'Completed',
      customStatus: custom,
      output: { generation: 2 },
    });
    expect(job).toMatchObject({ state: 'Succeeded', result: { generation: 2 }, error: null });
    expect(job.endedAt).toBe('2026-01-01T00:01:00.000Z');
  });

  it('maps Failed with the custom status error, else the output without the SDK wrapping', () => {
    const failed = { ...base, runtimeStatus: 'Failed' };
    expect(mapJob({ ...failed, customStatus: { ...custom, error: 'Step X failed: why' } }).error).toBe(
      'Step X failed: why',
    );
    expect(
      mapJob({ ...failed, output: "Orchestrator function 'enableReplication' failed: boom \n at stack" })
        .error,
    ).toBe('boom');
  });

  it('maps Terminated and Canceled to Cancelled; unknown statuses are InProgress', () => {
    expect(mapJob({ ...base, runtimeStatus: 'Terminated' }).state).toBe('Cancelled');
    expect(mapJob({ ...base, runtimeStatus: 'Canceled' }).state).toBe('Cancelled');
    expect(mapJob({ ...base, runtimeStatus: 'Suspended' }).state).toBe('InProgress');
    expect(mapJob({ ...base, runtimeStatus: 'Whatever' }).state).toBe('InProgress');
  });

  it('reads a custom status given as JSON text, ignores one of another shape', () => {
    expect(mapJob({ ...base, runtimeStatus: 'Running', customStatus: JSON.stringify(custom) }).steps).toEqual(
      custom.steps,
    );
    expect(mapJob({ ...base, runtimeStatus: 'Running', customStatus: { stage: 'x' } }).steps).toEqual([]);
  });

  it('knows which orchestrations are jobs', () => {
    expect(jobKindOf('enableReplication')).toBe('EnableReplication');
    expect(jobKindOf('somethingElse')).toBeUndefined();
    expect(jobKindOf(undefined)).toBeUndefined();
  });
});
