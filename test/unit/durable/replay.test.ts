import * as df from 'durable-functions';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { EventType, type HistoryEvent } from '../../../host/durable/history';
import { type Orchestrator, type Responder, runSdk, simulate } from './sdkHarness';

const retry = (attempts: number): df.RetryOptions => new df.RetryOptions(10, attempts);

/** Chaining, fan-out, retries (success and exhaustion, also in parallel), entities, a child, an event racing a timer. */
const everything: Orchestrator = function* (context) {
  const d = context.df;
  const a = yield d.callActivity('A', 'x');
  const fan = yield d.Task.all([1, 2, 3, 4].map((n) => d.callActivity('B', n)));
  const retried = yield d.callActivityWithRetry('Flaky', retry(3), 'k');
  d.signalEntity(new df.EntityId('counter', 'k'), 'add', 1);
  const counted = yield d.callEntity(new df.EntityId('counter', 'k'), 'get');
  const child = yield d.callSubOrchestrator('Child', 5);
  const timer = d.createTimer(new Date(d.currentUtcDateTime.getTime() + 60_000));
  const event = d.waitForExternalEvent('go');
  const winner = yield d.Task.any([event, timer]);
  if (winner === event) timer.cancel();
  let caught = '';
  try {
    yield d.callActivityWithRetry('Broken', retry(2), null);
  } catch (err) {
    caught = (err as Error).message.split(' \n ')[0] as string;
  }
  const parallel = yield d.Task.all([
    d.callActivityWithRetry('Flaky', retry(3), 'p1'),
    d.callActivityWithRetry('Flaky', retry(3), 'p2'),
    d.callActivity('B', 10),
  ]);
  return {
    a,
    fan,
    retried,
    counted,
    child,
    raced: winner === event ? event.result : 'timer',
    caught,
    parallel,
  };
};

const responder: Responder = {
  activity: (name, input, attempt) => {
    if (name === 'A') return `A:${String(input)}`;
    if (name === 'B') return (input as number) * 2;
    if (name === 'Flaky') return attempt < 3 ? new Error(`flaky ${attempt}`) : `ok ${String(input)}`;
    return new Error(`broken ${attempt}`);
  },
  child: (_name, input) => (input as number) * 10,
  entity: () => 7,
};

const expected = (raced: unknown): unknown => ({
  a: 'A:x',
  fan: [2, 4, 6, 8],
  retried: 'ok k',
  counted: 7,
  child: 50,
  raced,
  caught: "Activity function 'Broken' failed: broken 2",
  parallel: ['ok p1', 'ok p2', 20],
});

/** The history up to the end of episode `n` (1-based), as a later replay sees it. */
function prefix(history: HistoryEvent[], n: number): HistoryEvent[] {
  let seen = 0;
  const out: HistoryEvent[] = [];
  for (const e of history) {
    if (e.EventType === EventType.OrchestratorStarted && ++seen > n) break;
    out.push({ ...e, IsPlayed: true });
  }
  return out;
}

describe('replay with the real SDK', () => {
  it('completes with the right result, the engine allocating the same task ids as the SDK', async () => {
    const run = await simulate(everything, {
      responder,
      raise: [{ afterEpisode: 3, name: 'go', data: 'go!' }],
    });
    expect(run.idMismatches).toEqual([]);
    expect(run.status).toBe('Completed');
    expect(run.output).toEqual(expected(run.output && (run.output as { raced: unknown }).raced));
    const failed = run.history.filter((e) => e.event.EventType === EventType.TaskFailed);
    // Flaky fails twice for each of k, p1, p2; Broken fails twice (then the final back-compat timer).
    expect(failed).toHaveLength(8);
  });

  it('gives the same actions when any recorded history is replayed', async () => {
    const run = await simulate(everything, { responder, raise: [{ afterEpisode: 2, name: 'go', data: 1 }] });
    const history = run.history.map((e) => e.event);
    for (let n = 1; n <= run.episodes.length; n++) {
      const { result } = await runSdk(everything, prefix(history, n), null);
      expect(result.state?.actions, `episode ${n}`).toEqual(run.episodes[n - 1]?.actions);
    }
  });

  it('keeps ids aligned whatever order and batches the results arrive in', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(50), { minLength: 200, maxLength: 200 }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 200, maxLength: 200 }),
        fc.integer({ min: 0, max: 12 }),
        async (picks, batches, raiseAfter) => {
          let p = 0;
          let b = 0;
          const run = await simulate(everything, {
            responder,
            pick: () => picks[p++ % picks.length] as number,
            batch: () => batches[b++ % batches.length] as number,
            raise: [{ afterEpisode: raiseAfter, name: 'go', data: 'ev' }],
          });
          expect(run.idMismatches).toEqual([]);
          expect(run.status).toBe('Completed');
          const raced = (run.output as { raced: unknown }).raced;
          expect(['ev', 'timer']).toContain(raced);
          expect(run.output).toEqual(expected(raced));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('needs id-allocating events to open their own episode (without that rule the ids drift)', async () => {
    // A result that resumes the orchestrator (it then schedules more) and a retryable failure in one batch.
    const raceThenRetry: Orchestrator = function* (context) {
      const d = context.df;
      const flaky = d.callActivityWithRetry('Flaky', retry(3), 'z');
      const fast = d.callActivity('B', 1);
      yield d.Task.any([fast, flaky]);
      const next = yield d.callActivity('B', 2);
      const slow = yield flaky;
      return [next, slow];
    };
    const safe = await simulate(raceThenRetry, { responder });
    expect(safe.idMismatches).toEqual([]);
    expect(safe.output).toEqual([4, 'ok z']);
    const unsafe = await simulate(raceThenRetry, {
      responder,
      unsafeBatching: true,
      maxEpisodes: 20,
    });
    expect(unsafe.idMismatches.length).toBeGreaterThan(0);
  });

  it('carries the orchestrator failure and the actions it scheduled before failing', async () => {
    const failing: Orchestrator = function* (context) {
      yield context.df.callActivity('A', 1);
      context.df.signalEntity(new df.EntityId('counter', 'x'), 'add', 1);
      throw new Error('boom');
    };
    const run = await simulate(failing, { responder });
    expect(run.status).toBe('Failed');
    expect(run.output).toBe("Orchestrator function 'orchestrator' failed: boom");
    expect(run.history.some((e) => e.event.EventType === EventType.EventSent)).toBe(true);
  });
});
