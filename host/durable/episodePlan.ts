/**
 * The history side of one episode (§2.5): appends the delivered events, allocating the task ids the
 * SDK allocates internally (retry timers, re-attempts) at delivery, then turns the orchestrator's new
 * action leaves into scheduling events with the next task ids, in order. Pure: it only records the
 * work to do (effects); the processor performs it.
 */
import { type Action, ActionType, activityInputText, jsonText } from './actions';
import type { EntityRequest } from './entityIds';
import { EventType, type HistoryEvent, newEvent, SCHEDULING_TYPES } from './history';
import type { EventMeta, StoredEvent } from './historyStore';
import { deterministicId, newId } from './ids';
import type { ControlMessage } from './messages';
import { hasNextAttempt, retryDelayMs } from './retry';

export interface ActivityEffect {
  taskId: number;
  name: string;
  input: string | null;
}

export interface ChildEffect {
  taskId: number;
  name: string;
  instanceId: string;
  executionId: string;
  input: string | null;
  version?: string;
}

export interface TimerEffect {
  timerId: number;
  fireAt: number;
}

export interface EntityEffect {
  target: string;
  request: EntityRequest;
}

export interface Effects {
  activities: ActivityEffect[];
  children: ChildEffect[];
  timers: TimerEffect[];
  entityRequests: EntityEffect[];
}

export interface PlanContext {
  instanceId: string;
  executionId: string;
  now: number;
  /** Random per episode; completions of what this episode schedules must echo it. */
  token: string;
  past: StoredEvent[];
  processedActions: number;
}

export interface ActionOutcome {
  continueAsNew?: { input: unknown };
  /** An action this host cannot run; the orchestration fails with this message. */
  unsupported?: string;
}

export function nextTaskId(events: readonly StoredEvent[]): number {
  let max = -1;
  for (const { event } of events) {
    if (SCHEDULING_TYPES.includes(event.EventType) && event.EventId > max) max = event.EventId;
  }
  return max + 1;
}

export function findScheduled(
  events: readonly StoredEvent[],
  id: number | undefined,
): StoredEvent | undefined {
  if (id === undefined) return undefined;
  return events.find((e) => SCHEDULING_TYPES.includes(e.event.EventType) && e.event.EventId === id);
}

/** Whether delivering this message makes the SDK allocate a task id before user code resumes. */
export function allocatesInternally(events: readonly StoredEvent[], msg: ControlMessage): boolean {
  const e = msg.event;
  if (e.EventType === EventType.TaskFailed || e.EventType === EventType.SubOrchestrationInstanceFailed) {
    return findScheduled(events, e.TaskScheduledId)?.meta.retry !== undefined;
  }
  if (e.EventType === EventType.TimerFired) {
    return findScheduled(events, e.TimerId)?.meta.retryTimerFor !== undefined;
  }
  return false;
}

export class EpisodePlan {
  readonly appended: StoredEvent[] = [];
  readonly effects: Effects = { activities: [], children: [], timers: [], entityRequests: [] };
  processedActions: number;
  #nextId: number;

  constructor(private readonly ctx: PlanContext) {
    this.processedActions = ctx.processedActions;
    this.#nextId = nextTaskId(ctx.past);
  }

  get all(): StoredEvent[] {
    return [...this.ctx.past, ...this.appended];
  }

  append(event: HistoryEvent, meta: EventMeta = {}): void {
    this.appended.push({ event, meta });
  }

  /** Appends a delivered event and whatever the SDK allocates when it sees it. */
  deliver(msg: ControlMessage): void {
    const event: HistoryEvent = { ...msg.event, IsPlayed: false };
    this.append(event, { ...msg.meta, messageId: msg.id });
    const all = this.all;
    if (
      event.EventType === EventType.TaskFailed ||
      event.EventType === EventType.SubOrchestrationInstanceFailed
    ) {
      const scheduled = findScheduled(all, event.TaskScheduledId);
      const retry = scheduled?.meta.retry;
      if (scheduled && retry) {
        const attempt = scheduled.meta.attempt ?? 1;
        const delay = hasNextAttempt(retry, attempt) ? retryDelayMs(retry, attempt) : 0;
        this.#timer(this.ctx.now + delay, { retryTimerFor: scheduled.event.EventId });
      }
    } else if (event.EventType === EventType.TimerFired) {
      const timer = findScheduled(all, event.TimerId);
      const failed = findScheduled(all, timer?.meta.retryTimerFor);
      const retry = failed?.meta.retry;
      const attempt = failed?.meta.attempt ?? 1;
      if (failed && retry && hasNextAttempt(retry, attempt)) this.#reattempt(failed, retry, attempt + 1);
    }
  }

  /** Schedules the new leaves (those past processedActions) with the next task ids. */
  applyActions(leaves: readonly Action[]): ActionOutcome {
    const outcome: ActionOutcome = {};
    for (let leaf = this.processedActions; leaf < leaves.length; leaf++) {
      const action = leaves[leaf] as Action;
      switch (action.actionType) {
        case ActionType.CallActivity:
        case ActionType.CallActivityWithRetry:
          this.#activity(action.functionName ?? '', activityInputText(action.input), {
            leaf,
            ...(action.actionType === ActionType.CallActivityWithRetry && action.retryOptions
              ? { retry: action.retryOptions, attempt: 1 }
              : {}),
          });
          break;
        case ActionType.CallSubOrchestrator:
        case ActionType.CallSubOrchestratorWithRetry:
          this.#child(action.functionName ?? '', jsonText(action.input), action.instanceId, action.version, {
            leaf,
            ...(action.actionType === ActionType.CallSubOrchestratorWithRetry && action.retryOptions
              ? { retry: action.retryOptions, attempt: 1 }
              : {}),
          });
          break;
        case ActionType.CreateTimer: {
          const fireAt = Date.parse(action.fireAt ?? '');
          this.#timer(Number.isNaN(fireAt) ? this.ctx.now : fireAt, { leaf }, action.isCanceled === true);
          break;
        }
        case ActionType.CallEntity:
        case ActionType.SignalEntity:
          this.#entity(action, leaf);
          break;
        case ActionType.WaitForExternalEvent:
          break;
        case ActionType.ContinueAsNew:
          outcome.continueAsNew = { input: action.input };
          break;
        case ActionType.CallHttp:
          this.#nextId++;
          outcome.unsupported ??=
            'callHttp is not supported by the tidemark local host; call HTTP from an activity.';
          break;
        default:
          outcome.unsupported ??= `The orchestrator returned an action of type ${String(action.actionType)}, which the local host does not support.`;
      }
    }
    this.processedActions = Math.max(this.processedActions, leaves.length);
    return outcome;
  }

  #activity(name: string, input: string | null, meta: EventMeta): void {
    const taskId = this.#nextId++;
    this.append(
      newEvent(EventType.TaskScheduled, this.ctx.now, { EventId: taskId, Name: name, Input: input }),
      { ...meta, token: this.ctx.token },
    );
    this.effects.activities.push({ taskId, name, input });
  }

  #child(
    name: string,
    input: string | null,
    explicitId: string | undefined,
    version: string | undefined,
    meta: EventMeta,
  ): void {
    const taskId = this.#nextId++;
    const instanceId = explicitId || `${this.ctx.executionId}:${taskId}`;
    this.append(
      newEvent(EventType.SubOrchestrationInstanceCreated, this.ctx.now, {
        EventId: taskId,
        Name: name,
        InstanceId: instanceId,
        Input: input,
        Version: version ?? null,
      }),
      { ...meta, token: this.ctx.token, explicitInstanceId: Boolean(explicitId) },
    );
    this.effects.children.push({ taskId, name, instanceId, executionId: newId(), input, version });
  }

  #timer(fireAt: number, meta: EventMeta, cancelled = false): void {
    const timerId = this.#nextId++;
    this.append(
      newEvent(EventType.TimerCreated, this.ctx.now, {
        EventId: timerId,
        FireAt: new Date(fireAt).toISOString(),
      }),
      { ...meta, token: this.ctx.token },
    );
    if (!cancelled) this.effects.timers.push({ timerId, fireAt });
  }

  #reattempt(failed: StoredEvent, retry: NonNullable<EventMeta['retry']>, attempt: number): void {
    const e = failed.event;
    if (e.EventType === EventType.TaskScheduled) {
      this.#activity(e.Name ?? '', e.Input ?? null, { retry, attempt });
    } else {
      const explicitId = failed.meta.explicitInstanceId ? e.InstanceId : undefined;
      this.#child(e.Name ?? '', e.Input ?? null, explicitId, e.Version ?? undefined, { retry, attempt });
    }
  }

  #entity(action: Action, leaf: number): void {
    const taskId = this.#nextId++;
    const signal = action.actionType === ActionType.SignalEntity;
    const target = action.instanceId ?? '';
    const input = jsonText(action.input) ?? undefined;
    const request: EntityRequest = {
      op: action.operation ?? '',
      // The same on replay of the same decision, so the entity can drop a re-sent request.
      id: deterministicId(this.ctx.instanceId, this.ctx.executionId, taskId, target, action.operation, input),
      signal,
      input,
      parent: signal ? undefined : this.ctx.instanceId,
      parentExecution: signal ? undefined : this.ctx.executionId,
    };
    this.append(
      newEvent(EventType.EventSent, this.ctx.now, {
        EventId: taskId,
        InstanceId: target,
        Name: request.op,
        Input: JSON.stringify(request),
      }),
      { leaf, token: this.ctx.token },
    );
    this.effects.entityRequests.push({ target, request });
  }
}
