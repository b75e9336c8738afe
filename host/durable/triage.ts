/**
 * Sorts an instance's waiting messages before an episode: which start a new execution, which are
 * duplicates or stale (dropped), which wait (held: suspended, not started yet, or they must open the
 * next episode), and which this episode delivers. Redeliveries are recognised from history: message
 * ids, completed task ids, scheduling tokens, answered entity requests.
 */
import { EventType, isTerminal, type RuntimeStatus } from './history';
import type { HistorySnapshot, StoredEvent } from './historyStore';
import type { InstanceRecord } from './instanceStore';
import type { ControlMessage } from './messages';
import { allocatesInternally, findScheduled } from './episodePlan';
import {
  completedTaskIds,
  consumedMessageIds,
  raisedEventNames,
  startedEvent,
  statusFromHistory,
} from './orchestrationState';

export interface Triage<T> {
  start?: T;
  take: T[];
  drop: T[];
  hold: T[];
  /** Held messages can go in the next episode right away. */
  again: boolean;
}

const MAX_BATCH = 200;
const CONTROL_TYPES = [
  EventType.ExecutionSuspended,
  EventType.ExecutionResumed,
  EventType.ExecutionTerminated,
];

export function isAcceptableStart(
  history: HistorySnapshot,
  row: InstanceRecord | undefined,
  msg: ControlMessage,
): boolean {
  const executionId = msg.event.OrchestrationInstance?.ExecutionId ?? msg.executionId;
  if (!executionId) return false;
  if (history.executionId === executionId && startedEvent(history.events)) return false;
  if (row?.executionId === executionId) return true;
  const last = history.events[history.events.length - 1];
  return last?.event.EventType === EventType.ContinueAsNew && last.meta.nextExecutionId === executionId;
}

export function triage<T extends { body: ControlMessage }>(
  history: HistorySnapshot,
  row: InstanceRecord | undefined,
  inbox: readonly T[],
): Triage<T> {
  const result: Triage<T> = { take: [], drop: [], hold: [], again: false };
  const start = inbox.find(
    (m) => m.body.event.EventType === EventType.ExecutionStarted && isAcceptableStart(history, row, m.body),
  );
  const events: readonly StoredEvent[] = start ? [] : history.events;
  const executionId = start ? start.body.event.OrchestrationInstance?.ExecutionId : history.executionId;
  const started = Boolean(start) || Boolean(startedEvent(history.events));
  let status: RuntimeStatus = start ? 'Running' : statusFromHistory(history.events).status;
  const seen = new Set([...consumedMessageIds(history.events), ...history.recentMessageIds]);
  const completed = completedTaskIds(events);
  const answered = raisedEventNames(events);
  result.start = start;

  // While suspended, a resume or terminate goes first so what waited behind it is delivered.
  const ordered = inbox.filter((m) => m !== start);
  if (status === 'Suspended') {
    const first = ordered.filter(
      (m) =>
        m.body.event.EventType === EventType.ExecutionResumed ||
        m.body.event.EventType === EventType.ExecutionTerminated,
    );
    ordered.splice(0, ordered.length, ...first, ...ordered.filter((m) => !first.includes(m)));
  }

  let allocating = false;
  let blocked = false;
  for (const m of ordered) {
    const msg = m.body;
    const e = msg.event;
    if (seen.has(msg.id) || e.EventType === EventType.ExecutionStarted) {
      result.drop.push(m);
      continue;
    }
    if (!started) {
      (row && row.runtimeStatus === 'Pending' ? result.hold : result.drop).push(m);
      continue;
    }
    if (isTerminal(status)) {
      result.drop.push(m);
      continue;
    }
    const taskId = e.EventType === EventType.TimerFired ? e.TimerId : e.TaskScheduledId;
    if (e.EventType === EventType.TimerFired || e.TaskScheduledId !== undefined) {
      const scheduled = findScheduled(events, taskId);
      const stale =
        msg.executionId !== executionId ||
        !scheduled ||
        scheduled.meta.token !== msg.token ||
        completed.has(taskId as number);
      if (stale) {
        result.drop.push(m);
        continue;
      }
    }
    if (
      msg.entityResponse &&
      (answered.has(e.Name ?? '') || (msg.executionId && msg.executionId !== executionId))
    ) {
      result.drop.push(m);
      continue;
    }
    if (status === 'Suspended' && !CONTROL_TYPES.includes(e.EventType)) {
      result.hold.push(m);
      continue;
    }
    const allocates = allocatesInternally(events, msg);
    if (blocked || result.take.length >= MAX_BATCH || (allocates && (allocating || result.take.length > 0))) {
      // The SDK allocates a task id when it sees this event: it must open an episode of its own
      // (and what came after it waits, to keep the order).
      blocked = true;
      result.hold.push(m);
      result.again = true;
      continue;
    }
    allocating ||= allocates;
    seen.add(msg.id);
    if (taskId !== undefined) completed.add(taskId);
    if (msg.entityResponse && e.Name) answered.add(e.Name);
    if (e.EventType === EventType.ExecutionSuspended) status = 'Suspended';
    else if (e.EventType === EventType.ExecutionResumed) status = 'Running';
    else if (e.EventType === EventType.ExecutionTerminated) status = 'Terminated';
    result.take.push(m);
  }
  return result;
}
