/**
 * The test-failover and cleanup orchestrations, driven against a stand-in Durable context: every
 * activity is answered by the test, timers move the orchestration's clock to their due time.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { describe, expect, it } from 'vitest';

import { CLAIM_ACTIVITIES } from '../../../orchestrations/claimedJob';
import { TEST_FAILOVER_STEPS, testFailover } from '../../../orchestrations/testFailover';
import {
  TEST_FAILOVER_ACTIVITIES as A,
  type TestDisks,
  type TestFailoverPlan,
} from '../../../orchestrations/testFailover/types';
import { CLEANUP_STEPS, testFailoverCleanup } from '../../../orchestrations/testFailoverCleanup';
import { CLEANUP_ACTIVITIES as C } from '../../../orchestrations/testFailoverCleanup/types';
import type { JobCustomStatus } from '../../../shared/jobs/types';
import type { StoredTestFailover } from '../../../shared/workflows/testFailoverState';

interface Call {
  name: string;
  input: unknown;
}

interface Run<T> {
  calls: Call[];
  timers: number;
  status: JobCustomStatus;
  value?: T;
  error?: Error;
}

const START = Date.parse('2026-01-01T00:00:00Z');
const ok = (value: unknown = null) => ({ ok: true, value });
const userError = (message: string, hint?: string) => ({
  ok: false,
  error: { code: 'Conflict', message, ...(hint ? { hint } : {}) },
});

function drive<T>(
  orchestration: (context: OrchestrationContext) => Generator<Task, T, unknown>,
  input: unknown,
  answer: (name: string, input: unknown) => unknown,
): Run<T> {
  let status: JobCustomStatus | undefined;
  const calls: Call[] = [];
  let timers = 0;
  const df = {
    instanceId: 'job-1',
    currentUtcDateTime: new Date(START),
    getInput: () => input,
    setCustomStatus: (s: unknown) => (status = structuredClone(s) as JobCustomStatus),
    callActivityWithRetry: (name: string, _retry: unknown, activityInput: unknown) => ({
      kind: 'activity',
      name,
      input: structuredClone(activityInput),
    }),
    createTimer: (due: Date) => ({ kind: 'timer', due }),
  };
  const gen = orchestration({ df } as unknown as OrchestrationContext);
  try {
    let next = gen.next();
    while (!next.done) {
      const task = next.value as unknown as { kind: string; name: string; input: unknown; due: Date };
      if (task.kind === 'timer') {
        timers++;
        df.currentUtcDateTime = task.due;
        next = gen.next(undefined);
        continue;
      }
      calls.push({ name: task.name, input: task.input });
      df.currentUtcDateTime = new Date(df.currentUtcDateTime.getTime() + 100);
      let reply: unknown;
      try {
        reply = answer(task.name, task.input);
      } catch (err) {
        next = gen.throw(err);
        continue;
      }
      next = gen.next(reply);
    }
    return { calls, timers, status: status!, value: next.value };
  } catch (err) {
    return { calls, timers, status: status!, error: err as Error };
  }
}

const REF = { resourceGroup: 'shop-rg', vm: 'web1', direction: 'forward', jobId: 'job-1' };

const PLAN: TestFailoverPlan = {
  targetRegion: 'westus',
  targetResourceGroup: 'shop-rg-asr',
  targetVnet: { resourceGroup: 'shop-rg-asr', name: 'shop-vnet-asr' },
  size: 'Standard_B1s',
  subnet: 'front',
  privateIp: '10.0.0.4',
};

const NETWORK = { resourceGroup: 'shop-rg-asr', name: 'shop-vnet-asr-test', subnet: 'front', created: true };
const DISKS: TestDisks = {
  pointId: 'rp-1-7',
  pointType: 'CrashConsistent',
  pointTime: Date.parse('2025-12-31T23:59:00Z'),
  disks: [
    { lun: 0, name: 'os', blobName: 'shop-rg-asr/web1-test/os', sizeBytes: 8 << 20 },
    { lun: 1, name: 'data', blobName: 'shop-rg-asr/web1-test/data', sizeBytes: 4 << 20 },
  ],
};
const NIC = { resourceGroup: 'shop-rg-asr', name: 'web1-test-nic', privateIp: '10.0.0.4' };
const TEST_VM = { region: 'westus', resourceGroup: 'shop-rg-asr', name: 'web1-test' };

function answers(over: Record<string, unknown> = {}) {
  const base: Record<string, unknown> = {
    [A.prerequisites]: ok(PLAN),
    [A.sync]: ok({ watermark: 9, pointId: 'rp-1-9' }),
    [A.network]: ok(NETWORK),
    [A.disks]: ok(DISKS),
    [A.nic]: ok(NIC),
    [A.vm]: ok(TEST_VM),
    [A.release]: ok(),
    [CLAIM_ACTIVITIES.abandon]: ok('Protected'),
    ...over,
  };
  return (name: string) => {
    const reply = base[name];
    if (reply instanceof Error) throw reply;
    return reply;
  };
}

function testInput(extra: Record<string, unknown> = {}) {
  return { resourceGroup: 'shop-rg', vm: 'web1', direction: 'forward', ...extra };
}

describe('test failover orchestration', () => {
  it('runs every step for latest and releases the item with the record of what it made', () => {
    const run = drive(testFailover, testInput({ recoveryPoint: 'latest' }), answers());
    expect(run.error).toBeUndefined();
    expect(run.calls.map((c) => c.name)).toEqual([
      A.prerequisites,
      A.sync,
      A.network,
      A.disks,
      A.nic,
      A.vm,
      A.release,
    ]);
    expect(run.calls[0]!.input).toEqual({ ref: REF, recoveryPoint: 'latest' });
    expect(run.calls[2]!.input).toEqual({ ref: REF, plan: PLAN });
    expect(run.calls[3]!.input).toEqual({ ref: REF, plan: PLAN, choice: 'latest' });
    expect(run.calls[5]!.input).toEqual({
      ref: REF,
      plan: PLAN,
      network: NETWORK,
      nic: NIC,
      disks: DISKS.disks,
    });
    const { record } = run.calls[6]!.input as { record: StoredTestFailover };
    expect(record).toEqual({
      jobId: 'job-1',
      choice: 'latest',
      pointId: 'rp-1-7',
      pointTime: DISKS.pointTime,
      vm: TEST_VM,
      nic: { resourceGroup: 'shop-rg-asr', name: 'web1-test-nic' },
      vnet: { resourceGroup: 'shop-rg-asr', name: 'shop-vnet-asr-test' },
      createdVnet: true,
      diskBlobs: ['shop-rg-asr/web1-test/os', 'shop-rg-asr/web1-test/data'],
      at: START + 600,
    });
    expect(run.value).toEqual({
      testVm: TEST_VM,
      network: { resourceGroup: 'shop-rg-asr', name: 'shop-vnet-asr-test' },
      recoveryPoint: { id: 'rp-1-7', type: 'CrashConsistent', time: '2025-12-31T23:59:00.000Z' },
    });
    expect(run.status.kind).toBe('TestFailover');
    expect(run.status.steps.map((s) => [s.name, s.state])).toEqual(
      TEST_FAILOVER_STEPS.map((n) => [n, 'Succeeded']),
    );
    expect(run.status.result).toEqual(run.value);
  });

  it('defaults to latestProcessed, skips the sync, and passes the network asked for', () => {
    const run = drive(testFailover, testInput({ network: 'lab' }), answers());
    expect(run.error).toBeUndefined();
    expect(run.calls.map((c) => c.name)).not.toContain(A.sync);
    expect(run.calls[0]!.input).toEqual({ ref: REF, recoveryPoint: 'latestProcessed' });
    expect(run.calls[1]!.input).toEqual({ ref: REF, plan: PLAN, network: 'lab' });
    expect(run.status.steps[1]).toMatchObject({ name: 'Synchronizing latest data', state: 'Skipped' });
    const time = { time: '2026-01-01T00:00:00+01:00' };
    const atTime = drive(testFailover, testInput({ recoveryPoint: time }), answers());
    const { record } = atTime.calls.at(-1)!.input as { record: StoredTestFailover };
    expect(record.choice).toBe('time:2025-12-31T23:00:00.000Z');
  });

  it('warns when latest could not cut a point, and goes on', () => {
    const note = 'No new recovery point could be cut (replication of the VM is not running).';
    const run = drive(
      testFailover,
      testInput({ recoveryPoint: 'latest' }),
      answers({ [A.sync]: ok({ watermark: 3, note }) }),
    );
    expect(run.error).toBeUndefined();
    expect(run.status.steps[1]).toMatchObject({ state: 'Succeeded', warning: note });
  });

  it('fails the step with the user error and gives the item back', () => {
    const run = drive(
      testFailover,
      testInput({ network: 'shop-vnet-asr' }),
      answers({ [A.network]: userError('VNet x is mapped.', 'Leave network out.') }),
    );
    expect(run.error?.message).toBe('Creating the test network failed: VNet x is mapped. Leave network out.');
    expect(run.calls.map((c) => c.name)).toEqual([A.prerequisites, A.network, CLAIM_ACTIVITIES.abandon]);
    expect(run.calls.at(-1)!.input).toEqual(REF);
    expect(run.status.steps.map((s) => s.state)).toEqual([
      'Succeeded',
      'Skipped',
      'Failed',
      'NotStarted',
      'NotStarted',
      'NotStarted',
    ]);
  });
});

describe('test failover orchestration, undoing', () => {
  const undoAnswers = (over: Record<string, unknown>) =>
    answers({
      [C.deleteVm]: ok({ deleted: false, ours: true }),
      [C.deleteDisks]: ok(DISKS.disks.map((d) => d.blobName)),
      [C.deleteNetwork]: ok({ nicGone: true, vnetGone: true, notes: [] }),
      ...over,
    });

  it('removes what it made when a later step fails, then gives the item back', () => {
    const run = drive(
      testFailover,
      testInput(),
      undoAnswers({ [A.nic]: userError('Subnet shop-vnet-asr-test/front has no free address.') }),
    );
    expect(run.error?.message).toBe(
      'Creating the network interface failed: Subnet shop-vnet-asr-test/front has no free address.',
    );
    expect(run.calls.map((c) => c.name)).toEqual([
      A.prerequisites,
      A.network,
      A.disks,
      A.nic,
      C.deleteVm,
      C.deleteDisks,
      C.deleteNetwork,
      CLAIM_ACTIVITIES.abandon,
    ]);
    expect(run.calls[4]!.input).toEqual({ ref: REF, vm: TEST_VM });
    expect(run.calls[5]!.input).toEqual({
      ref: REF,
      region: 'westus',
      blobs: DISKS.disks.map((d) => d.blobName),
    });
    expect(run.calls[6]!.input).toEqual({
      ref: REF,
      region: 'westus',
      nic: { resourceGroup: 'shop-rg-asr', name: 'web1-test-nic' },
      vnet: { resourceGroup: 'shop-rg-asr', name: 'shop-vnet-asr-test' },
      createdVnet: true,
      vm: 'web1-test',
      vmOurs: true,
    });
  });

  it('waits for a started test VM’s agent to stop before deleting its disks', () => {
    let polls = 0;
    const base = undoAnswers({
      [A.release]: userError('Job job-1 no longer holds VM shop-rg/web1.'),
      [C.deleteVm]: ok({ deleted: true, ours: true }),
    });
    const run = drive(testFailover, testInput(), (name) =>
      name === C.agentStopped ? ok(++polls > 1) : base(name),
    );
    const names = run.calls.map((c) => c.name);
    expect(names.slice(names.indexOf(C.deleteVm))).toEqual([
      C.deleteVm,
      C.agentStopped,
      C.agentStopped,
      C.deleteDisks,
      C.deleteNetwork,
      CLAIM_ACTIVITIES.abandon,
    ]);
  });

  it('keeps the original failure when undoing fails too, with a warning on the failed step', () => {
    const run = drive(
      testFailover,
      testInput(),
      undoAnswers({
        [A.vm]: userError(
          'VM shop-rg-asr/web1-test exists in westus and is not the test VM of shop-rg/web1.',
        ),
        [C.deleteVm]: ok({ deleted: false, ours: false }),
        [C.deleteNetwork]: new Error("Activity function 'testCleanupDeleteNetwork' failed: storage down"),
      }),
    );
    expect(run.error?.message).toMatch(
      /^Starting the test virtual machine failed: VM shop-rg-asr\/web1-test exists/,
    );
    const names = run.calls.map((c) => c.name);
    expect(names).not.toContain(C.deleteDisks);
    expect(names.at(-1)).toBe(CLAIM_ACTIVITIES.abandon);
    expect(run.status.steps[5]).toMatchObject({
      state: 'Failed',
      warning:
        'What this test failover made could not all be removed (storage down); a new test failover reuses it.',
    });
  });
});

const RECORD: StoredTestFailover = {
  jobId: 'testfailover-1',
  choice: 'latest',
  pointId: 'rp-1-7',
  pointTime: 1,
  vm: TEST_VM,
  nic: { resourceGroup: 'shop-rg-asr', name: 'web1-test-nic' },
  vnet: { resourceGroup: 'shop-rg-asr', name: 'shop-vnet-asr-test' },
  createdVnet: true,
  diskBlobs: ['shop-rg-asr/web1-test/os'],
  at: 2,
  previousState: 'Protected',
};

function cleanupAnswers(over: Record<string, unknown> = {}, stopsAfter = 2) {
  let polls = 0;
  const base: Record<string, unknown> = {
    [C.prerequisites]: ok(RECORD),
    [C.deleteVm]: ok({ deleted: true, ours: true }),
    [C.deleteDisks]: ok(RECORD.diskBlobs),
    [C.deleteNetwork]: ok({ nicGone: true, vnetGone: true, notes: [] }),
    [C.release]: ok('Protected'),
    [CLAIM_ACTIVITIES.abandon]: ok('TestFailedOver'),
    ...over,
  };
  return (name: string) => (name === C.agentStopped ? ok(++polls >= stopsAfter) : base[name]);
}

describe('test failover cleanup orchestration', () => {
  it('deletes the VM, waits for its agent to stop, deletes the disks, then the network, and releases', () => {
    const run = drive(testFailoverCleanup, testInput(), cleanupAnswers());
    expect(run.error).toBeUndefined();
    expect(run.calls.map((c) => c.name)).toEqual([
      C.prerequisites,
      C.deleteVm,
      C.agentStopped,
      C.agentStopped,
      C.deleteDisks,
      C.deleteNetwork,
      C.release,
    ]);
    expect(run.timers).toBe(1);
    expect(run.calls[4]!.input).toEqual({ ref: REF, region: 'westus', blobs: RECORD.diskBlobs });
    expect(run.calls[5]!.input).toEqual({
      ref: REF,
      region: 'westus',
      nic: RECORD.nic,
      vnet: RECORD.vnet,
      createdVnet: true,
      vm: 'web1-test',
      vmOurs: true,
    });
    expect(run.value).toEqual({
      removed: { vm: TEST_VM, disks: RECORD.diskBlobs, nic: RECORD.nic, vnet: RECORD.vnet },
      state: 'Protected',
    });
    expect(run.status.steps.map((s) => [s.name, s.state])).toEqual(
      CLEANUP_STEPS.map((n) => [n, 'Succeeded']),
    );
  });

  it('waits at most 15 s for the agent, then warns and deletes the disks anyway', () => {
    const run = drive(testFailoverCleanup, testInput(), cleanupAnswers({}, Infinity));
    expect(run.error).toBeUndefined();
    expect(run.timers).toBeGreaterThanOrEqual(13);
    expect(run.timers).toBeLessThanOrEqual(15);
    expect(run.calls.map((c) => c.name)).toContain(C.deleteDisks);
    expect(run.status.steps[1]!.warning).toMatch(/still published its NBD endpoint after 15 s/);
  });

  it('leaves a VM that is not the test VM any more, with its disks and NIC', () => {
    const note = 'VM shop-rg-asr/web1-test is not the test VM of shop-rg/web1 any more.';
    const run = drive(
      testFailoverCleanup,
      testInput(),
      cleanupAnswers({
        [C.deleteVm]: ok({ deleted: false, ours: false, note }),
        [C.deleteNetwork]: ok({ nicGone: false, vnetGone: false, notes: ['kept'] }),
      }),
    );
    expect(run.error).toBeUndefined();
    expect(run.calls.map((c) => c.name)).toEqual([C.prerequisites, C.deleteVm, C.deleteNetwork, C.release]);
    expect((run.calls[2]!.input as { vmOurs: boolean }).vmOurs).toBe(false);
    expect(run.status.steps[1]!.warning).toBe(note);
    expect(run.status.steps[2]!.warning).toBe('kept');
    expect(run.value).toMatchObject({ removed: { vm: null, disks: [], nic: null, vnet: null } });
  });

  it('gives the item back (TestFailedOver, record kept) when a step fails, so cleanup can run again', () => {
    const run = drive(
      testFailoverCleanup,
      testInput(),
      cleanupAnswers({ [C.prerequisites]: userError('VM shop-rg/web1 has no test failover recorded.') }),
    );
    expect(run.error?.message).toMatch(/^Prerequisites check failed: VM shop-rg\/web1 has no test failover/);
    expect(run.calls.map((c) => c.name)).toEqual([C.prerequisites, CLAIM_ACTIVITIES.abandon]);
  });
});
