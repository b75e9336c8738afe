import { describe, expect, it } from 'vitest';

import { ActionType, activityInputText, flattenActions } from '../../../host/durable/actions';
import { allocatesInternally, EpisodePlan, nextTaskId } from '../../../host/durable/episodePlan';
import { EventType, newEvent } from '../../../host/durable/history';
import type { StoredEvent } from '../../../host/durable/historyStore';

const ctx = (past: StoredEvent[] = [], processedActions = 0) => ({
  instanceId: 'i',
  executionId: 'e',
  now: Date.UTC(2026, 0, 1),
  token: 't1',
  past,
  processedActions,
});

describe('actions', () => {
  it('flattens Task.all / Task.any depth-first, in order', () => {
    const leaves = flattenActions({
      actions: [
        [
          { actionType: ActionType.CallActivity, functionName: 'a' },
          {
            actionType: ActionType.WhenAny,
            compoundActions: [
              { actionType: ActionType.WaitForExternalEvent, externalEventName: 'x' },
              {
                actionType: ActionType.WhenAll,
                compoundActions: [
                  { actionType: ActionType.CallActivity, functionName: 'b' },
                  { actionType: ActionType.CreateTimer, fireAt: '2026-01-01T00:00:00Z', isCanceled: false },
                ],
              },
            ],
          },
        ],
      ],
    });
    expect(leaves.map((l) => l.functionName ?? l.actionType)).toEqual([
      'a',
      ActionType.WaitForExternalEvent,
      'b',
      ActionType.CreateTimer,
    ]);
  });

  it('passes string activity inputs verbatim (already JSON-encoded by the SDK) and encodes others', () => {
    expect(activityInputText('"hi"')).toBe('"hi"');
    expect(activityInputText({ a: 1 })).toBe('{"a":1}');
    expect(activityInputText(5)).toBe('5');
    expect(activityInputText(undefined)).toBeNull();
  });
});

describe('episode plan', () => {
  it('gives new leaves the next ids and records what to do', () => {
    const plan = new EpisodePlan(ctx());
    const outcome = plan.applyActions([
      { actionType: ActionType.CallActivity, functionName: 'a', input: '"x"' },
      { actionType: ActionType.WaitForExternalEvent, externalEventName: 'go' },
      { actionType: ActionType.CreateTimer, fireAt: '2026-01-02T00:00:00.000Z', isCanceled: false },
      { actionType: ActionType.SignalEntity, instanceId: '@counter@k', operation: 'add', input: 1 },
      { actionType: ActionType.CallSubOrchestrator, functionName: 'child', input: { n: 1 } },
      { actionType: ActionType.CallEntity, instanceId: '@counter@k', operation: 'get' },
    ]);
    expect(outcome).toEqual({});
    expect(plan.appended.map((e) => [EventType[e.event.EventType], e.event.EventId])).toEqual([
      ['TaskScheduled', 0],
      ['TimerCreated', 1],
      ['EventSent', 2],
      ['SubOrchestrationInstanceCreated', 3],
      ['EventSent', 4],
    ]);
    expect(plan.effects.activities).toEqual([{ taskId: 0, name: 'a', input: '"x"' }]);
    expect(plan.effects.timers).toEqual([{ timerId: 1, fireAt: Date.UTC(2026, 0, 2) }]);
    expect(plan.effects.children[0]).toMatchObject({
      taskId: 3,
      name: 'child',
      instanceId: 'e:3',
      input: '{"n":1}',
    });
    const [signal, call] = plan.effects.entityRequests;
    expect(signal?.request).toMatchObject({ op: 'add', signal: true, input: '1' });
    expect(call?.request).toMatchObject({ op: 'get', signal: false, parent: 'i', parentExecution: 'e' });
    expect(plan.appended.every((e) => e.meta.token === 't1')).toBe(true);
    expect(plan.processedActions).toBe(6);
  });

  it('only schedules the leaves beyond those already processed', () => {
    const past: StoredEvent[] = [
      { event: newEvent(EventType.TaskScheduled, 0, { EventId: 0, Name: 'a' }), meta: { token: 't0' } },
    ];
    expect(nextTaskId(past)).toBe(1);
    const plan = new EpisodePlan(ctx(past, 1));
    plan.applyActions([
      { actionType: ActionType.CallActivity, functionName: 'a' },
      { actionType: ActionType.CallActivity, functionName: 'b' },
    ]);
    expect(plan.appended.map((e) => [e.event.Name, e.event.EventId])).toEqual([['b', 1]]);
  });

  it('allocates a retry timer when a retryable task fails, and a re-attempt when the timer fires', () => {
    const retry = { firstRetryIntervalInMilliseconds: 1000, maxNumberOfAttempts: 2, backoffCoefficient: 2 };
    const past: StoredEvent[] = [
      {
        event: newEvent(EventType.TaskScheduled, 0, { EventId: 0, Name: 'f', Input: '1' }),
        meta: { token: 't0', retry, attempt: 1 },
      },
    ];
    const failed = {
      id: 'm1',
      instanceId: 'i',
      event: newEvent(EventType.TaskFailed, 0, { TaskScheduledId: 0, Reason: 'r', Details: 'd' }),
    };
    expect(allocatesInternally(past, failed)).toBe(true);
    const plan = new EpisodePlan(ctx(past, 1));
    plan.deliver(failed);
    expect(plan.appended.map((e) => EventType[e.event.EventType])).toEqual(['TaskFailed', 'TimerCreated']);
    expect(plan.effects.timers).toEqual([{ timerId: 1, fireAt: Date.UTC(2026, 0, 1) + 1000 }]);

    const afterTimer = [...past, ...plan.appended];
    const fired = { id: 'm2', instanceId: 'i', event: newEvent(EventType.TimerFired, 0, { TimerId: 1 }) };
    expect(allocatesInternally(afterTimer, fired)).toBe(true);
    const plan2 = new EpisodePlan(ctx(afterTimer, 1));
    plan2.deliver(fired);
    expect(plan2.effects.activities).toEqual([{ taskId: 2, name: 'f', input: '1' }]);
    expect(plan2.appended[1]?.meta).toMatchObject({ attempt: 2, retry });

    // The second (last) attempt fails: a timer that fires at once, then no further attempt.
    const afterSecond = [...afterTimer, ...plan2.appended];
    const plan3 = new EpisodePlan(ctx(afterSecond, 1));
    plan3.deliver({
      id: 'm3',
      instanceId: 'i',
      event: newEvent(EventType.TaskFailed, 0, { TaskScheduledId: 2, Reason: 'r', Details: 'd' }),
    });
    expect(plan3.effects.timers).toEqual([{ timerId: 3, fireAt: Date.UTC(2026, 0, 1) }]);
    const plan4 = new EpisodePlan(ctx([...afterSecond, ...plan3.appended], 1));
    plan4.deliver({ id: 'm4', instanceId: 'i', event: newEvent(EventType.TimerFired, 0, { TimerId: 3 }) });
    expect(plan4.effects.activities).toEqual([]);
  });

  it('refuses callHttp with a clear message', () => {
    const plan = new EpisodePlan(ctx());
    expect(plan.applyActions([{ actionType: ActionType.CallHttp }]).unsupported).toContain('callHttp');
  });
});
