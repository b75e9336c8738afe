import { describe, expect, it } from 'vitest';

import { EventType, executionStarted, newEvent } from '../../../host/durable/history';
import type { HistorySnapshot, StoredEvent } from '../../../host/durable/historyStore';
import type { InstanceRecord } from '../../../host/durable/instanceStore';
import type { ControlMessage } from '../../../host/durable/messages';
import { triage } from '../../../host/durable/triage';

const started: StoredEvent = {
  event: executionStarted(0, { name: 'o', input: null, instanceId: 'i', executionId: 'e1' }),
  meta: { messageId: 'start' },
};
const scheduled = (id: number, token = 'tok', retry = false): StoredEvent => ({
  event: newEvent(EventType.TaskScheduled, 0, { EventId: id, Name: 'a' }),
  meta: {
    token,
    ...(retry ? { retry: { firstRetryIntervalInMilliseconds: 1, maxNumberOfAttempts: 3 }, attempt: 1 } : {}),
  },
});
const snapshot = (events: StoredEvent[]): HistorySnapshot => ({
  executionId: 'e1',
  etag: 'x',
  events: [started, ...events],
  processedActions: 0,
  recentMessageIds: ['old-message'],
});
const row = { executionId: 'e1', runtimeStatus: 'Running' } as InstanceRecord;
const msg = (m: Partial<ControlMessage> & { event: ControlMessage['event'] }): { body: ControlMessage } => ({
  body: { id: Math.random().toString(36), instanceId: 'i', executionId: 'e1', token: 'tok', ...m },
});
const completed = (id: number, extra: Partial<ControlMessage> = {}) =>
  msg({ event: newEvent(EventType.TaskCompleted, 0, { TaskScheduledId: id, Result: '1' }), ...extra });
const failed = (id: number) =>
  msg({ event: newEvent(EventType.TaskFailed, 0, { TaskScheduledId: id, Reason: 'r', Details: 'd' }) });

describe('triage', () => {
  it('drops completions of tasks already completed, unknown, of another execution or with a stale token', () => {
    const history = snapshot([
      scheduled(0),
      scheduled(1),
      {
        event: newEvent(EventType.TaskCompleted, 0, { TaskScheduledId: 0, Result: '1' }),
        meta: { messageId: 'c0' },
      },
    ]);
    const dup = completed(0);
    const unknown = completed(7);
    const otherExecution = completed(1, { executionId: 'e0' });
    const staleToken = completed(1, { token: 'older' });
    const good = completed(1);
    const twice = completed(1);
    const t = triage(history, row, [dup, unknown, otherExecution, staleToken, good, twice]);
    expect(t.take).toEqual([good]);
    expect(t.drop).toEqual([dup, unknown, otherExecution, staleToken, twice]);
  });

  it('drops a message it already consumed (redelivered after a crash) by its id', () => {
    const history = snapshot([
      {
        event: newEvent(EventType.EventRaised, 0, { Name: 'x', Input: '1' }),
        meta: { messageId: 'raised-1' },
      },
    ]);
    const again = msg({
      id: 'raised-1',
      event: newEvent(EventType.EventRaised, 0, { Name: 'x', Input: '1' }),
    });
    const fromPreviousExecution = msg({
      id: 'old-message',
      event: newEvent(EventType.EventRaised, 0, { Name: 'x' }),
    });
    const t = triage(history, row, [again, fromPreviousExecution]);
    expect(t.drop).toEqual([again, fromPreviousExecution]);
  });

  it('drops a repeated entity answer', () => {
    const history = snapshot([
      {
        event: newEvent(EventType.EventRaised, 0, { Name: 'req-1', Input: '{"result":"1"}' }),
        meta: { messageId: 'r1' },
      },
    ]);
    const again = msg({ entityResponse: true, event: newEvent(EventType.EventRaised, 0, { Name: 'req-1' }) });
    expect(triage(history, row, [again]).drop).toEqual([again]);
  });

  it('lets an id-allocating event (a retryable failure) open an episode alone, keeping the order', () => {
    const history = snapshot([scheduled(0), scheduled(1, 'tok', true), scheduled(2)]);
    const a = completed(0);
    const f = failed(1);
    const b = completed(2);
    const first = triage(history, row, [a, f, b]);
    expect(first.take).toEqual([a]);
    expect(first.hold).toEqual([f, b]);
    expect(first.again).toBe(true);
    const second = triage(history, row, [f, b]);
    expect(second.take).toEqual([f, b]);
  });

  it('holds events while suspended; a resume goes first', () => {
    const suspended = snapshot([
      { event: newEvent(EventType.ExecutionSuspended, 0, { Reason: 'x' }), meta: { messageId: 's' } },
    ]);
    const ev = msg({ event: newEvent(EventType.EventRaised, 0, { Name: 'go' }) });
    expect(triage(suspended, row, [ev]).hold).toEqual([ev]);
    const resume = msg({ event: newEvent(EventType.ExecutionResumed, 0, { Reason: 'y' }) });
    expect(triage(suspended, row, [ev, resume]).take).toEqual([resume, ev]);
  });

  it('holds events that arrive before the start, then delivers them after it', () => {
    const empty: HistorySnapshot = { events: [], processedActions: 0, recentMessageIds: [] };
    const pending = { executionId: 'e1', runtimeStatus: 'Pending' } as InstanceRecord;
    const ev = msg({ event: newEvent(EventType.EventRaised, 0, { Name: 'go' }) });
    expect(triage(empty, pending, [ev]).hold).toEqual([ev]);
    const start = msg({
      event: executionStarted(0, { name: 'o', input: null, instanceId: 'i', executionId: 'e1' }),
    });
    const t = triage(empty, pending, [ev, start]);
    expect(t.start).toBe(start);
    expect(t.take).toEqual([ev]);
  });

  it('ignores a start for an execution that already started, or that the instance row does not name', () => {
    const history = snapshot([]);
    const same = msg({
      event: executionStarted(0, { name: 'o', input: null, instanceId: 'i', executionId: 'e1' }),
    });
    const stray = msg({
      event: executionStarted(0, { name: 'o', input: null, instanceId: 'i', executionId: 'zz' }),
    });
    const t = triage(history, row, [same, stray]);
    expect(t.start).toBeUndefined();
    expect(t.drop).toEqual([same, stray]);
  });

  it('drops everything but a new start once the instance finished', () => {
    const done = snapshot([
      { event: newEvent(EventType.ExecutionCompleted, 0, { OrchestrationStatus: 1, Result: '1' }), meta: {} },
    ]);
    const ev = msg({ event: newEvent(EventType.EventRaised, 0, { Name: 'go' }) });
    expect(triage(done, row, [ev]).drop).toEqual([ev]);
  });
});
