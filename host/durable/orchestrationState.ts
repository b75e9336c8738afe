/**
 * Facts derived from an execution's history: whether it started, its status and output, which
 * messages and completions it already consumed, and which raised events no waiter took.
 */
import { type Action, ActionType } from './actions';
import {
  completedTaskId,
  EventType,
  type HistoryEvent,
  OrchestrationStatus,
  type RuntimeStatus,
} from './history';
import type { StoredEvent } from './historyStore';

export function startedEvent(events: readonly StoredEvent[]): HistoryEvent | undefined {
  return events.find((e) => e.event.EventType === EventType.ExecutionStarted)?.event;
}

export interface DerivedStatus {
  status: RuntimeStatus;
  /** JSON text of the output for a finished execution. */
  output: string | null;
  completedAt?: number;
}

export function statusFromHistory(events: readonly StoredEvent[]): DerivedStatus {
  let suspended = false;
  for (let i = events.length - 1; i >= 0; i--) {
    const e = (events[i] as StoredEvent).event;
    const at = Date.parse(e.Timestamp);
    if (e.EventType === EventType.ExecutionCompleted || e.EventType === EventType.ContinueAsNew) {
      const status = OrchestrationStatus[
        e.OrchestrationStatus ?? OrchestrationStatus.Completed
      ] as RuntimeStatus;
      return { status, output: e.Result ?? null, completedAt: at };
    }
    if (e.EventType === EventType.ExecutionTerminated) {
      return { status: 'Terminated', output: JSON.stringify(e.Input ?? ''), completedAt: at };
    }
    if (e.EventType === EventType.ExecutionResumed) break;
    if (e.EventType === EventType.ExecutionSuspended) suspended = true;
  }
  if (!startedEvent(events)) return { status: 'Pending', output: null };
  return { status: suspended ? 'Suspended' : 'Running', output: null };
}

/** Ids of the control messages this execution consumed. */
export function consumedMessageIds(events: readonly StoredEvent[]): Set<string> {
  const ids = new Set<string>();
  for (const { meta } of events) if (meta.messageId) ids.add(meta.messageId);
  return ids;
}

/** Task ids that already have a completion (TaskCompleted/Failed, SubOrchestration*, TimerFired). */
export function completedTaskIds(events: readonly StoredEvent[]): Set<number> {
  const ids = new Set<number>();
  for (const { event } of events) {
    const id = completedTaskId(event);
    if (id !== undefined) ids.add(id);
  }
  return ids;
}

/** Names of raised events in history (entity responses are matched by request id). */
export function raisedEventNames(events: readonly StoredEvent[]): Set<string> {
  const names = new Set<string>();
  for (const { event } of events)
    if (event.EventType === EventType.EventRaised && event.Name) names.add(event.Name);
  return names;
}

/**
 * Raised events no waiter consumed, to carry into the next execution on continue-as-new. The SDK
 * matches waiters and events greedily, oldest deferred event first, so per name the waiters consume
 * min(#events, #waits) events and the unconsumed ones are the latest.
 */
export function unconsumedEvents(events: readonly StoredEvent[], leaves: readonly Action[]): HistoryEvent[] {
  const waits = new Map<string, number>();
  for (const a of leaves) {
    if (a.actionType === ActionType.WaitForExternalEvent && a.externalEventName) {
      waits.set(a.externalEventName, (waits.get(a.externalEventName) ?? 0) + 1);
    }
  }
  const responses = new Set<string>();
  for (const { event } of events) {
    if (event.EventType !== EventType.EventSent || !event.Input) continue;
    try {
      responses.add(String((JSON.parse(event.Input) as { id?: string }).id));
    } catch {
      // not a request message
    }
  }
  const byName = new Map<string, HistoryEvent[]>();
  for (const { event } of events) {
    if (event.EventType !== EventType.EventRaised || !event.Name || responses.has(event.Name)) continue;
    const list = byName.get(event.Name) ?? [];
    list.push(event);
    byName.set(event.Name, list);
  }
  const carried = new Set<HistoryEvent>();
  for (const [name, list] of byName) for (const e of list.slice(waits.get(name) ?? 0)) carried.add(e);
  return events.map((e) => e.event).filter((e) => carried.has(e));
}
