import { describe, expect, it } from 'vitest';

import { CLAIM_ACTIVITIES } from '../../../orchestrations/claimedJob';
import { COMMIT_STEPS, commitFailover } from '../../../orchestrations/commitFailover';
import { COMMIT_ACTIVITIES as C } from '../../../orchestrations/commit/types';
import { FAILOVER_STEPS, failover } from '../../../orchestrations/failover';
import type { FailoverPlan, FailoverResult, TargetDisks } from '../../../orchestrations/failover/types';
import { FAILOVER_ACTIVITIES as A } from '../../../orchestrations/failover/types';
import type { RecoveryPointChoice } from '../../../shared/recoveryPoints/choice';
import { drive, ok, userError } from './orchestrationDriver';

const PLAN: FailoverPlan = {
  vmId: 'shop-rg/web1',
  sourceRegion: 'eastus',
  targetRegion: 'westus',
  sourceVm: {
    region: 'eastus',
    size: 'Standard_B1s',
    vnet: { resourceGroup: 'shop-rg', name: 'vnet' },
    subnet: 'default',
    privateIp: '10.0.0.4',
  },
  target: {
    region: 'westus',
    resourceGroup: 'shop-rg-asr',
    vnet: { resourceGroup: 'shop-rg-asr', name: 'vnet-asr' },
  },
  disks: [{ lun: 0, name: 'os', sizeBytes: 8 << 20 }],
  targetVm: { region: 'westus', resourceGroup: 'shop-rg-asr', name: 'web1' },
  changingPoint: false,
  sourceReachable: true,
};

const DISKS: TargetDisks = {
  disks: [{ lun: 0, name: 'os', blobName: 'shop-rg-asr/web1/os', sizeBytes: 8 << 20 }],
  point: { id: 'rp-1-7', type: 'CrashConsistent', time: Date.parse('2026-01-01T00:00:00Z') },
  replayedThrough: { sequence: 9, time: Date.parse('2026-01-01T00:00:02Z') },
  replayedDeltas: 2,
};

const NIC = {
  nic: { resourceGroup: 'shop-rg-asr', name: 'web1-nic' },
  privateIp: '10.0.0.4',
  reused: false,
  warnings: [],
};

function input(recoveryPoint: RecoveryPointChoice, shutdownSource = true) {
  return { resourceGroup: 'shop-rg', vm: 'web1', direction: 'forward', recoveryPoint, shutdownSource };
}

/** Answers every activity as a healthy failover would; `over` replaces some answers. */
function answers(over: Record<string, unknown> = {}, plan: FailoverPlan = PLAN) {
  const base: Record<string, unknown> = {
    [A.prerequisites]: ok(plan),
    [A.shutdown]: ok({ stopped: true }),
    [A.sync]: ok({ pointId: 'rp-1-7' }),
    [A.resolvePoint]: ok({ pointId: 'rp-1-7' }),
    [A.stopTarget]: ok({ existed: false, agentStopped: true }),
    [A.materialize]: ok(DISKS),
    [A.nic]: ok(NIC),
    [A.start]: ok({ at: 1 }),
    [CLAIM_ACTIVITIES.abandon]: ok('Protected'),
    ...over,
  };
  return (name: string) => {
    const reply = base[name];
    if (reply instanceof Error) throw reply;
    return reply;
  };
}

describe('failover orchestration', () => {
  it('runs the steps in order for latest, passing the cut point on, and records the result', () => {
    const run = drive<FailoverResult>(failover, input('latest'), answers());
    expect(run.error).toBeUndefined();
    expect(run.calls.map((c) => c.name)).toEqual([
      A.prerequisites,
      A.shutdown,
      A.sync,
      A.stopTarget,
      A.materialize,
      A.nic,
      A.start,
    ]);
    expect(run.calls[0]!.input).toEqual({
      resourceGroup: 'shop-rg',
      vm: 'web1',
      direction: 'forward',
      jobId: 'job-1',
    });
    expect(run.calls.find((c) => c.name === A.materialize)!.input).toMatchObject({
      selector: { pointId: 'rp-1-7' },
    });
    expect(run.calls.find((c) => c.name === A.start)!.input).toMatchObject({
      choice: 'latest',
      nic: NIC,
      disks: DISKS,
    });
    expect(run.status.steps.map((s) => [s.name, s.state])).toEqual(
      FAILOVER_STEPS.map((n) => [n, 'Succeeded']),
    );
    expect(run.value).toEqual({
      targetVm: { region: 'westus', resourceGroup: 'shop-rg-asr', name: 'web1' },
      recoveryPoint: { id: 'rp-1-7', type: 'CrashConsistent', time: '2026-01-01T00:00:00.000Z' },
      privateIp: '10.0.0.4',
    });
    expect(run.status.result).toEqual(run.value);
  });

  it('skips the shutdown when asked, and the sync for another choice; a time reports replayedThrough', () => {
    const choice = { time: '2026-01-01T00:00:05Z' };
    const run = drive<FailoverResult>(failover, input(choice, false), answers());
    expect(run.calls.map((c) => c.name)).toEqual([
      A.prerequisites,
      A.resolvePoint,
      A.stopTarget,
      A.materialize,
      A.nic,
      A.start,
    ]);
    expect(run.calls[1]!.input).toMatchObject({ choice });
    expect(run.status.steps.map((s) => s.state)).toEqual([
      'Succeeded',
      'Skipped',
      'Skipped',
      'Succeeded',
      'Succeeded',
      'Succeeded',
    ]);
    expect(run.calls.at(-1)!.input).toMatchObject({ choice: 'time:2026-01-01T00:00:05.000Z' });
    expect(run.value?.replayedThrough).toBe('2026-01-01T00:00:02.000Z');
  });

  it('a change of point never shuts the source down', () => {
    const run = drive(failover, input({ id: 'rp-1-3' }), answers({}, { ...PLAN, changingPoint: true }));
    expect(run.calls.map((c) => c.name)).not.toContain(A.shutdown);
    expect(run.status.steps[1]!.state).toBe('Skipped');
  });

  it('goes on with warnings when the source can’t be shut down and latest falls back', () => {
    const note =
      '"latest" fell back to the newest recovery point already processed ("latestProcessed") because eastus is down.';
    const run = drive<FailoverResult>(
      failover,
      input('latest'),
      answers({
        [A.shutdown]: ok({ stopped: false, reason: 'eastus does not answer: ECONNREFUSED' }),
        [A.sync]: ok({ pointId: 'rp-1-5', note }),
        [A.nic]: ok({
          ...NIC,
          privateIp: '10.0.0.5',
          warnings: ['Address 10.0.0.4 is taken; the VM got 10.0.0.5.'],
        }),
      }),
    );
    expect(run.error).toBeUndefined();
    const [, shutdown, sync, , nic] = run.status.steps;
    expect(shutdown).toMatchObject({ state: 'Succeeded' });
    expect(shutdown!.warning).toMatch(
      /could not be shut down \(eastus does not answer: ECONNREFUSED\); failover went on/,
    );
    expect(sync).toMatchObject({ state: 'Succeeded', warning: note });
    expect(nic!.warning).toMatch(/got 10\.0\.0\.5/);
    expect(run.calls.find((c) => c.name === A.materialize)!.input).toMatchObject({
      selector: { pointId: 'rp-1-5' },
    });
    expect(run.calls.find((c) => c.name === A.start)!.input).toMatchObject({ note });
    expect(run.value).toMatchObject({ note, privateIp: '10.0.0.5' });
  });

  it('gives the item back and fails the job when a step fails', () => {
    const run = drive(
      failover,
      input('latestAppConsistent', false),
      answers({
        [A.resolvePoint]: userError(
          'VM shop-rg/web1 has no app-consistent recovery point.',
          'Fail over to "latestProcessed".',
        ),
      }),
    );
    expect(run.error?.message).toBe(
      'Creating the target disks failed: VM shop-rg/web1 has no app-consistent recovery point. Fail over to "latestProcessed".',
    );
    expect(run.calls.at(-1)).toEqual({
      name: CLAIM_ACTIVITIES.abandon,
      input: { resourceGroup: 'shop-rg', vm: 'web1', direction: 'forward', jobId: 'job-1' },
    });
    expect(run.status.steps.map((s) => s.state)).toEqual([
      'Succeeded',
      'Skipped',
      'Skipped',
      'Failed',
      'NotStarted',
      'NotStarted',
    ]);
  });

  it('gives the item back when an activity keeps failing', () => {
    const run = drive(failover, input('latestProcessed'), answers({ [A.nic]: new Error('storage down') }));
    expect(run.error?.message).toBe('Creating the network interface failed: storage down');
    expect(run.calls.at(-1)!.name).toBe(CLAIM_ACTIVITIES.abandon);
  });
});

describe('commit orchestration', () => {
  const commitInput = { resourceGroup: 'shop-rg', vm: 'web1', direction: 'forward' };
  const plan = { vmId: 'shop-rg/web1', sourceRegion: 'eastus', points: 4, sourceReachable: true };

  it('deletes the points and earlier disks, stops replication, releases, and reports what went', () => {
    const run = drive(commitFailover, commitInput, (name) =>
      name === C.prerequisites
        ? ok(plan)
        : name === C.stopReplication
          ? ok({ deleted: true })
          : name === C.deleteEarlierDisks
            ? ok({ disks: ['/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/disks/d'] })
            : ok({}),
    );
    expect(run.calls.map((c) => c.name)).toEqual([
      C.prerequisites,
      C.deletePoints,
      C.deleteEarlierDisks,
      C.stopReplication,
      C.release,
    ]);
    expect(run.status.steps.map((s) => [s.name, s.state])).toEqual(COMMIT_STEPS.map((n) => [n, 'Succeeded']));
    expect(run.value).toEqual({ deletedPoints: 4, deletedDisks: 1 });
  });

  it('warns when the source region is down, and still commits', () => {
    const run = drive(commitFailover, commitInput, (name) =>
      name === C.prerequisites
        ? ok({ ...plan, sourceReachable: false })
        : name === C.stopReplication
          ? ok({ deleted: false, reason: 'eastus does not answer' })
          : name === C.deleteEarlierDisks
            ? ok({ disks: [] })
            : ok({}),
    );
    expect(run.error).toBeUndefined();
    expect(run.status.steps[2]!.warning).toMatch(/could not be deleted \(eastus does not answer\)/);
    expect(run.calls.at(-1)!.name).toBe(C.release);
  });

  it('gives the item back when deleting fails', () => {
    const run = drive(commitFailover, commitInput, (name) => {
      if (name === C.prerequisites) return ok(plan);
      if (name === C.deletePoints) throw new Error('lease lost');
      return ok('FailedOver');
    });
    expect(run.error?.message).toBe('Deleting recovery points failed: lease lost');
    expect(run.calls.at(-1)!.name).toBe(CLAIM_ACTIVITIES.abandon);
  });
});
