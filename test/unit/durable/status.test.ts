import { describe, expect, it } from 'vitest';

import { ActionType } from '../../../host/durable/actions';
import { EventType, executionStarted, newEvent } from '../../../host/durable/history';
import type { StoredEvent } from '../../../host/durable/historyStore';
import { statusFromHistory, unconsumedEvents } from '../../../host/durable/orchestrationState';
import { dotnetTime, historySummary, toStatusJson } from '../../../host/durable/statusJson';

const at = Date.UTC(2026, 0, 1, 12, 30, 15, 123);
const stored = (event: StoredEvent['event']): StoredEvent => ({ event, meta: {} });

describe('status JSON', () => {
  it('always has input and output (null if need be) and .NET "s" times', () => {
    const json = toStatusJson({
      instanceId: 'i',
      name: 'o',
      executionId: 'e',
      runtimeStatus: 'Running',
      input: null,
      output: null,
      customStatus: '{"a":1}',
      createdTime: at,
      lastUpdatedTime: at,
      generation: 0,
    });
    expect(json).toEqual({
      name: 'o',
      instanceId: 'i',
      runtimeStatus: 'Running',
      input: null,
      output: null,
      customStatus: { a: 1 },
      createdTime: '2026-01-01T12:30:15Z',
      lastUpdatedTime: '2026-01-01T12:30:15Z',
    });
    expect(dotnetTime(0)).toBe('1970-01-01T00:00:00Z');
  });

  it('summarises history with function names and scheduled times', () => {
    const events = [
      stored(executionStarted(at, { name: 'o', input: '1', instanceId: 'i', executionId: 'e' })),
      stored(newEvent(EventType.OrchestratorStarted, at)),
      stored(newEvent(EventType.TaskScheduled, at, { EventId: 0, Name: 'act' })),
      stored(newEvent(EventType.TaskCompleted, at + 5, { TaskScheduledId: 0, Result: '"r"' })),
      stored(newEvent(EventType.ExecutionCompleted, at + 6, { OrchestrationStatus: 1, Result: '"done"' })),
    ];
    const summary = historySummary(events, { showHistoryOutput: true });
    expect(summary.map((e) => e.EventType)).toEqual([
      'ExecutionStarted',
      'TaskCompleted',
      'ExecutionCompleted',
    ]);
    expect(summary[1]).toMatchObject({
      FunctionName: 'act',
      Result: 'r',
      ScheduledTime: new Date(at).toISOString(),
    });
    expect(summary[2]).toMatchObject({ OrchestrationStatus: 'Completed', Result: 'done' });
    expect(historySummary(events)[1]).not.toHaveProperty('Result');
  });
});

describe('derived state', () => {
  const start = stored(executionStarted(at, { name: 'o', input: null, instanceId: 'i', executionId: 'e' }));

  it('derives the status from history', () => {
    expect(statusFromHistory([]).status).toBe('Pending');
    expect(statusFromHistory([start]).status).toBe('Running');
    const suspended = [start, stored(newEvent(EventType.ExecutionSuspended, at))];
    expect(statusFromHistory(suspended).status).toBe('Suspended');
    expect(statusFromHistory([...suspended, stored(newEvent(EventType.ExecutionResumed, at))]).status).toBe(
      'Running',
    );
    const terminated = statusFromHistory([
      start,
      stored(newEvent(EventType.ExecutionTerminated, at, { Input: 'why' })),
    ]);
    expect(terminated).toMatchObject({ status: 'Terminated', output: '"why"' });
  });

  it('carries only the raised events no waiter took, newest ones, across continue-as-new', () => {
    const raised = (name: string, input: string): StoredEvent =>
      stored(newEvent(EventType.EventRaised, at, { Name: name, Input: input }));
    const request = stored(
      newEvent(EventType.EventSent, at, { EventId: 0, Input: '{"id":"req-1","op":"get"}' }),
    );
    const events = [
      start,
      raised('x', '1'),
      raised('x', '2'),
      raised('y', '3'),
      request,
      raised('req-1', '{}'),
    ];
    const leaves = [{ actionType: ActionType.WaitForExternalEvent, externalEventName: 'x' }];
    expect(unconsumedEvents(events, leaves).map((e) => [e.Name, e.Input])).toEqual([
      ['x', '2'],
      ['y', '3'],
    ]);
  });
});
