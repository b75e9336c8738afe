import type { OrchestrationContext, Task } from 'durable-functions';
import { describe, expect, it } from 'vitest';

import type { JobCustomStatus } from '../../../shared/jobs/types';
import { errorText, JobSteps, StepFailure } from '../../../orchestrations/jobSteps';

/** A stand-in for the Durable context: records what the orchestration asks for; time moves by hand. */
function fakeContext() {
  const statuses: JobCustomStatus[] = [];
  const df = {
    currentUtcDateTime: new Date('2026-01-01T00:00:00Z'),
    setCustomStatus: (s: unknown) => statuses.push(structuredClone(s) as JobCustomStatus),
    callActivityWithRetry: (name: string, _retry: unknown, input: unknown) => ({
      kind: 'activity',
      name,
      input,
    }),
    createTimer: (due: Date) => ({ kind: 'timer', due: due.toISOString() }),
  };
  const context = { df } as unknown as OrchestrationContext;
  const tick = (ms: number): void => {
    df.currentUtcDateTime = new Date(df.currentUtcDateTime.getTime() + ms);
  };
  return { context, statuses, tick, last: () => statuses[statuses.length - 1]! };
}

const VM = { resourceGroup: 'rg1', name: 'web1' };

describe('JobSteps', () => {
  it('runs steps in order, with times, progress and the result in the custom status', () => {
    const { context, tick, last } = fakeContext();
    const job = new JobSteps(context, 'EnableReplication', VM, ['One', 'Two']);
    expect(last().steps.map((s) => s.state)).toEqual(['NotStarted', 'NotStarted']);

    function* run(): Generator<Task, string, unknown> {
      const a = yield* job.step('One', () => job.call<number>('act', { x: 1 }));
      yield* job.step('Two', function* () {
        job.progress('Two', 50.7);
        yield* job.sleep(2000);
      });
      return job.succeed(`done ${a}`);
    }
    const gen = run();
    expect(gen.next().value).toEqual({ kind: 'activity', name: 'act', input: { x: 1 } });
    expect(last().steps[0]).toMatchObject({ state: 'InProgress', startedAt: '2026-01-01T00:00:00.000Z' });
    tick(1000);
    expect(gen.next({ ok: true, value: 7 }).value).toEqual({
      kind: 'timer',
      due: '2026-01-01T00:00:03.000Z',
    });
    expect(last().steps[0]).toMatchObject({ state: 'Succeeded', endedAt: '2026-01-01T00:00:01.000Z' });
    expect(last().steps[1]).toMatchObject({ state: 'InProgress', progress: 50 });
    tick(2000);
    const end = gen.next(undefined);
    expect(end).toEqual({ done: true, value: 'done 7' });
    expect(last().steps[1]).toMatchObject({
      state: 'Succeeded',
      progress: 100,
      endedAt: '2026-01-01T00:00:03.000Z',
    });
    expect(last().result).toBe('done 7');
  });

  it('fails the step and the job with the activity’s user error, leaving later steps NotStarted', () => {
    const { context, last } = fakeContext();
    const job = new JobSteps(context, 'EnableReplication', VM, ['Check', 'Later']);
    const gen = job.step('Check', () => job.call('check', {}));
    gen.next();
    expect(() =>
      gen.next({ ok: false, error: { code: 'Conflict', message: 'VM is Stopped.', hint: 'Start it.' } }),
    ).toThrow(new StepFailure('Check failed: VM is Stopped. Start it.'));
    expect(last().steps).toMatchObject([
      { name: 'Check', state: 'Failed', error: 'VM is Stopped. Start it.' },
      { name: 'Later', state: 'NotStarted' },
    ]);
    expect(last().error).toBe('Check failed: VM is Stopped. Start it.');
  });

  it('fails the step with a thrown activity failure’s message, without the Durable wrapping', () => {
    const { context, last } = fakeContext();
    const job = new JobSteps(context, 'EnableReplication', VM, ['Copy']);
    const gen = job.step('Copy', () => job.call('copy', {}));
    gen.next();
    expect(() => gen.throw(new Error("Activity function 'copy' failed: storage down \n at x"))).toThrow(
      StepFailure,
    );
    expect(last().steps[0]?.error).toBe('storage down');
  });

  it('never moves progress backwards and rejects undeclared steps', () => {
    const { context, last } = fakeContext();
    const job = new JobSteps(context, 'EnableReplication', VM, ['A']);
    job.progress('A', 60);
    job.progress('A', 30);
    expect(last().steps[0]?.progress).toBe(60);
    job.skip('A');
    expect(last().steps[0]?.state).toBe('Skipped');
    expect(() => job.progress('B', 1)).toThrow(/not declared/);
  });

  it('errorText keeps a plain message', () => {
    expect(errorText(new Error('plain'))).toBe('plain');
    expect(errorText('text')).toBe('text');
  });
});
