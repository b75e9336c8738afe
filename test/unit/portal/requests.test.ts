import { describe, expect, it } from 'vitest';

import {
  describeChoice,
  enableBody,
  failoverBody,
  FormError,
  initialReplicationProgress,
  type Job,
  jobChanges,
  jobsOfVm,
  problemView,
  recoveryPointChoice,
  testFailoverBody,
} from '../../../portal/lib/requests.js';
import { recoveryPointChoiceSchema } from '../../../shared/recoveryPoints/choice';

function job(over: Partial<Job>): Job {
  return {
    id: 'enable-rg-web1',
    kind: 'EnableReplication',
    vm: { resourceGroup: 'rg', name: 'web1' },
    state: 'InProgress',
    steps: [],
    error: null,
    result: null,
    ...over,
  };
}

function formError(fn: () => unknown): FormError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FormError) return err;
    throw err;
  }
  throw new Error('no FormError');
}

describe('portal requests', () => {
  it('turns the point picker into a recoveryPoint the API accepts', () => {
    for (const mode of ['latest', 'latestProcessed', 'latestAppConsistent']) {
      expect(recoveryPointChoice({ mode })).toBe(mode);
    }
    expect(recoveryPointChoice({ mode: 'point', pointId: 'rp-1-7' })).toEqual({ id: 'rp-1-7' });
    const time = recoveryPointChoice({ mode: 'time', time: '2026-01-02T03:04:05' });
    expect(time).toEqual({ time: new Date(2026, 0, 2, 3, 4, 5).toISOString() });
    for (const choice of ['latest', { id: 'rp-1-7' }, time]) {
      expect(recoveryPointChoiceSchema.safeParse(choice).success).toBe(true);
    }
    expect(formError(() => recoveryPointChoice({ mode: 'point' })).errors[0]?.path).toBe('recoveryPoint.id');
    expect(formError(() => recoveryPointChoice({ mode: 'time', time: '' })).errors[0]?.path).toBe(
      'recoveryPoint.time',
    );
    expect(() => recoveryPointChoice({ mode: 'bogus' })).toThrow(FormError);
  });

  it('describes a choice for the confirmation', () => {
    expect(describeChoice('latestProcessed')).toBe('latest processed');
    expect(describeChoice({ id: 'rp-2-9' })).toBe('rp-2-9');
    expect(describeChoice({ time: '2026-01-02T03:04:05.000Z' })).toBe('2026-01-02 03:04:05 UTC');
  });

  it('builds failover and test failover bodies', () => {
    expect(failoverBody({ mode: 'latest', shutdownSource: true })).toEqual({
      recoveryPoint: 'latest',
      shutdownSource: true,
    });
    expect(failoverBody({ mode: 'point', pointId: 'rp-1-3' })).toEqual({
      recoveryPoint: { id: 'rp-1-3' },
      shutdownSource: false,
    });
    expect(testFailoverBody({ mode: 'latestProcessed', network: '  ' })).toEqual({
      recoveryPoint: 'latestProcessed',
    });
    expect(testFailoverBody({ mode: 'latest', network: 'iso-vnet' })).toEqual({
      recoveryPoint: 'latest',
      network: 'iso-vnet',
    });
  });

  it('leaves blank enable fields to the server and checks the policy numbers', () => {
    expect(enableBody({})).toEqual({});
    expect(
      enableBody({
        targetResourceGroup: ' dr-rg ',
        targetVnet: '',
        targetAvailabilitySet: 'av-asr',
        retentionHours: '48',
        appConsistentFrequencyMinutes: '',
      }),
    ).toEqual({
      targetResourceGroup: 'dr-rg',
      targetAvailabilitySet: 'av-asr',
      policy: { retentionHours: 48 },
    });
    expect(enableBody({ appConsistentFrequencyMinutes: '120' })).toEqual({
      policy: { appConsistentFrequencyMinutes: 120 },
    });
    const bad = formError(() => enableBody({ retentionHours: '1000', appConsistentFrequencyMinutes: '1.5' }));
    expect(bad.errors.map((e) => e.path)).toEqual([
      'policy.retentionHours',
      'policy.appConsistentFrequencyMinutes',
    ]);
  });

  it('shows problems in the API’s words, and anything else by status', () => {
    expect(
      problemView(400, {
        type: 'urn:tidemark:error:InvalidRequest',
        title: 'Invalid request',
        status: 400,
        detail: 'The request body is invalid: policy.retentionHours: too big.',
        code: 'InvalidRequest',
        hint: 'Send less.',
        errors: [{ path: 'policy.retentionHours', message: 'too big' }],
      }),
    ).toEqual({
      title: 'Invalid request',
      detail: 'The request body is invalid: policy.retentionHours: too big.',
      hint: 'Send less.',
      errors: [{ path: 'policy.retentionHours', message: 'too big' }],
      status: 400,
      code: 'InvalidRequest',
    });
    expect(problemView(500, '', 'Internal Server Error')).toEqual({
      title: 'HTTP 500 Internal Server Error',
      errors: [],
      status: 500,
    });
    expect(problemView(502, '<html>bad gateway</html>')).toMatchObject({
      title: 'HTTP 502',
      detail: '<html>bad gateway</html>',
    });
  });

  it('reads initial replication progress off the running enable job', () => {
    const steps = (state: string, progress?: number) => [
      { name: 'Prerequisites check', state: 'Succeeded' },
      { name: 'Initial replication', state, ...(progress === undefined ? {} : { progress }) },
    ];
    expect(initialReplicationProgress([], 'rg', 'web1')).toBeUndefined();
    expect(initialReplicationProgress([job({ steps: steps('NotStarted') })], 'rg', 'web1')).toBeUndefined();
    expect(initialReplicationProgress([job({ steps: steps('InProgress') })], 'rg', 'web1')).toBe(0);
    expect(initialReplicationProgress([job({ steps: steps('InProgress', 42.5) })], 'RG', 'WEB1')).toBe(42.5);
    expect(initialReplicationProgress([job({ steps: steps('Succeeded', 100) })], 'rg', 'web1')).toBe(100);
    expect(
      initialReplicationProgress([job({ state: 'Succeeded', steps: steps('Succeeded', 100) })], 'rg', 'web1'),
    ).toBeUndefined();
    expect(
      initialReplicationProgress([job({ steps: steps('InProgress', 50) })], 'rg', 'web2'),
    ).toBeUndefined();
  });

  it('finds a VM’s jobs and says what changed between two polls', () => {
    const a = job({ steps: [{ name: 'Initial replication', state: 'NotStarted' }] });
    const other = job({ id: 'enable-rg-web2', vm: { resourceGroup: 'rg', name: 'web2' } });
    expect(jobsOfVm([a, other], 'RG', 'web1')).toEqual([a]);
    const name = (j: Job) => `${j.kind} of ${j.vm?.name}`;
    const before = new Map([[a.id, a]]);
    const stepped = job({ steps: [{ name: 'Initial replication', state: 'InProgress', progress: 10 }] });
    expect(jobChanges(before, [stepped, other], name)).toEqual([
      'EnableReplication of web1: Initial replication in progress.',
      'EnableReplication of web2 started.',
    ]);
    expect(jobChanges(before, [job({ state: 'Succeeded' })], name)).toEqual([
      'EnableReplication of web1: succeeded.',
    ]);
    expect(
      jobChanges(before, [job({ state: 'Failed', error: 'Initial replication failed: disk gone' })], name),
    ).toEqual(['EnableReplication of web1 failed: Initial replication failed: disk gone']);
    expect(jobChanges(before, [a], name)).toEqual([]);
  });
});
