/**
 * Turns an episode's effects into what checkpoint step 1 writes: work items, child starts (with
 * their Pending instance rows), timers, entity requests, the parent's completion message and the
 * continue-as-new restart.
 */
import type { FailureFields } from './failures';
import { EventType, executionStarted, type HistoryEvent, newEvent, type ParentInstance } from './history';
import type { EventMeta } from './historyStore';
import { deterministicId, newId } from './ids';
import type { InstanceRecord } from './instanceStore';
import type { ControlMessage } from './messages';
import type { Outgoing } from './outbox';
import type { Effects } from './episodePlan';
import { timerRowKey } from './timerStore';

export interface EpisodeIdentity {
  instanceId: string;
  executionId: string;
  name: string;
  version?: string | null;
  token: string;
  now: number;
  partitionOf(instanceId: string): number;
}

export function effectsToOutgoing(
  id: EpisodeIdentity,
  effects: Effects,
): { items: Outgoing[]; childRows: InstanceRecord[] } {
  const items: Outgoing[] = [];
  const childRows: InstanceRecord[] = [];
  for (const a of effects.activities) {
    items.push({
      kind: 'workItem',
      message: {
        id: newId(),
        instanceId: id.instanceId,
        executionId: id.executionId,
        taskId: a.taskId,
        name: a.name,
        input: a.input,
        token: id.token,
      },
    });
  }
  for (const c of effects.children) {
    const parent: ParentInstance = {
      Name: id.name,
      Version: id.version ?? null,
      OrchestrationInstance: { InstanceId: id.instanceId, ExecutionId: id.executionId },
      TaskScheduleId: c.taskId,
    };
    childRows.push({
      instanceId: c.instanceId,
      name: c.name,
      version: c.version ?? null,
      executionId: c.executionId,
      runtimeStatus: 'Pending',
      input: c.input,
      output: null,
      customStatus: null,
      createdTime: id.now,
      lastUpdatedTime: id.now,
      generation: 0,
      parentInstanceId: id.instanceId,
    });
    items.push({
      kind: 'control',
      message: {
        id: newId(),
        instanceId: c.instanceId,
        executionId: c.executionId,
        event: executionStarted(id.now, {
          name: c.name,
          version: c.version,
          input: c.input,
          instanceId: c.instanceId,
          executionId: c.executionId,
          parent,
        }),
        meta: { parentToken: id.token },
      },
    });
  }
  for (const t of effects.timers) {
    const rowKey = timerRowKey(t.fireAt, id.instanceId, id.executionId, t.timerId);
    items.push({
      kind: 'timer',
      row: {
        partition: id.partitionOf(id.instanceId),
        rowKey,
        fireAt: t.fireAt,
        message: {
          id: deterministicId('timer', rowKey, id.token),
          instanceId: id.instanceId,
          executionId: id.executionId,
          token: id.token,
          event: newEvent(EventType.TimerFired, t.fireAt, {
            TimerId: t.timerId,
            FireAt: new Date(t.fireAt).toISOString(),
          }),
        },
      },
    });
  }
  for (const r of effects.entityRequests) {
    items.push({
      kind: 'control',
      message: {
        id: newId(),
        instanceId: r.target,
        event: newEvent(EventType.EventRaised, id.now, { Name: 'op', Input: JSON.stringify(r.request) }),
      },
    });
  }
  return { items, childRows };
}

/** The message telling a parent its sub-orchestration finished. */
export function parentNotification(
  started: HistoryEvent,
  startMeta: EventMeta,
  now: number,
  outcome: { ok: true; result: string | null } | { ok: false; failure: FailureFields },
): ControlMessage | undefined {
  const parent = started.ParentInstance;
  if (!parent) return undefined;
  const event = outcome.ok
    ? newEvent(EventType.SubOrchestrationInstanceCompleted, now, {
        TaskScheduledId: parent.TaskScheduleId,
        Result: outcome.result ?? null,
      })
    : newEvent(EventType.SubOrchestrationInstanceFailed, now, {
        TaskScheduledId: parent.TaskScheduleId,
        Reason: outcome.failure.Reason,
        Details: outcome.failure.Details,
        ...(outcome.failure.FailureDetails ? { FailureDetails: outcome.failure.FailureDetails } : {}),
      });
  return {
    id: newId(),
    instanceId: parent.OrchestrationInstance.InstanceId,
    executionId: parent.OrchestrationInstance.ExecutionId,
    token: startMeta.parentToken,
    event,
  };
}

/** The message that starts the next execution after continue-as-new. */
export function continueAsNewStart(
  id: EpisodeIdentity,
  started: HistoryEvent,
  startMeta: EventMeta,
  nextExecutionId: string,
  input: string | null,
  carried: HistoryEvent[],
): ControlMessage {
  return {
    id: newId(),
    instanceId: id.instanceId,
    executionId: nextExecutionId,
    event: executionStarted(id.now, {
      name: id.name,
      version: id.version,
      input,
      instanceId: id.instanceId,
      executionId: nextExecutionId,
      parent: started.ParentInstance ?? null,
      generation: (started.Generation ?? 0) + 1,
    }),
    meta: { parentToken: startMeta.parentToken },
    carried,
  };
}
