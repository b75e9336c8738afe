/**
 * Drives orchestrators with the real durable-functions SDK and the engine's pure episode logic
 * (triage, decideEpisode) but no storage: activities, timers, sub-orchestrations and entity calls
 * are answered by the harness, in an order the test chooses. After every episode it checks that the
 * engine's task ids match the ids the SDK itself allocated.
 */
import { DummyOrchestrationContext, type OrchestrationContext } from 'durable-functions';
import { createOrchestrator } from 'durable-functions/lib/src/util/testingUtils';

import type { OrchestratorState } from '../../../host/durable/actions';
import { decideEpisode } from '../../../host/durable/episodeDecision';
import {
  EventType,
  executionStarted,
  type HistoryEvent,
  newEvent,
  SCHEDULING_TYPES,
} from '../../../host/durable/history';
import type { HistorySnapshot, StoredEvent } from '../../../host/durable/historyStore';
import type { ControlMessage } from '../../../host/durable/messages';
import { bindingInfo, type EpisodeResult } from '../../../host/durable/orchestrationRunner';
import { activityFailure, splitOrchestratorError } from '../../../host/durable/failures';
import { statusFromHistory } from '../../../host/durable/orchestrationState';
import { triage } from '../../../host/durable/triage';

export type Orchestrator = (context: OrchestrationContext) => Generator<unknown, unknown, unknown>;

interface OpenTask {
  id: number | string | false;
  actionObj?: { functionName?: string; actionType?: number };
}

/** Runs one episode in the SDK. Also returns the SDK's open tasks (its own id allocation). */
export async function runSdk(
  fn: Orchestrator,
  history: HistoryEvent[],
  input: string | null,
  instanceId = 'instance-1',
): Promise<{ result: EpisodeResult; openTasks: Record<string, OpenTask> }> {
  const handler = createOrchestrator(fn);
  const context = new DummyOrchestrationContext('orchestrator', 'invocation', () => undefined);
  // The wire format: JSON text, parsed by @azure/functions before the SDK sees it.
  const trigger = JSON.parse(JSON.stringify(bindingInfo({ instanceId, history, input }))) as unknown;
  const openTasks = (): Record<string, OpenTask> =>
    ((context as unknown as { df?: { taskOrchestratorExecutor?: { openTasks?: Record<string, OpenTask> } } })
      .df?.taskOrchestratorExecutor?.openTasks ?? {}) as Record<string, OpenTask>;
  try {
    const state = JSON.parse(JSON.stringify(await handler(trigger, context))) as OrchestratorState;
    return { result: { ok: true, state }, openTasks: openTasks() };
  } catch (err) {
    const { message, stateJson } = splitOrchestratorError((err as Error).message);
    const state = stateJson ? (JSON.parse(stateJson) as OrchestratorState) : undefined;
    return { result: { ok: false, state, error: state?.error ?? message }, openTasks: openTasks() };
  }
}

export interface Responder {
  /** The result of an activity attempt, or an Error to fail it. */
  activity(name: string, input: unknown, attempt: number): unknown;
  /** Result of a sub-orchestration. */
  child?(name: string, input: unknown): unknown;
  /** Result of an entity operation. */
  entity?(target: string, op: string, input: unknown): unknown;
}

export interface SimulationOptions {
  input?: unknown;
  responder: Responder;
  /** Picks which waiting message goes next (index into the list); default: the first. */
  pick?(waiting: number): number;
  /** How many messages are waiting when an episode starts; default: all. */
  batch?(waiting: number): number;
  /** Events raised from outside: delivered once the instance has run this many episodes. */
  raise?: { afterEpisode: number; name: string; data: unknown }[];
  maxEpisodes?: number;
  /** Deliver whole batches, ignoring triage's rule that id-allocating events open an episode alone. */
  unsafeBatching?: boolean;
}

export interface SimulationRecord {
  history: StoredEvent[];
  /** Per episode: the history the SDK saw and the cumulative actions it returned. */
  episodes: { history: HistoryEvent[]; actions: unknown }[];
  status: string;
  output: unknown;
  /** Mismatches between engine task ids and SDK task ids (should be empty). */
  idMismatches: string[];
}

const INSTANCE = 'instance-1';
const EXECUTION = 'execution-1';

export async function simulate(fn: Orchestrator, options: SimulationOptions): Promise<SimulationRecord> {
  let snapshot: HistorySnapshot = { events: [], processedActions: 0, recentMessageIds: [] };
  const input = options.input === undefined ? null : JSON.stringify(options.input);
  const waiting: ControlMessage[] = [
    {
      id: 'start',
      instanceId: INSTANCE,
      executionId: EXECUTION,
      event: executionStarted(0, {
        name: 'orchestrator',
        input,
        instanceId: INSTANCE,
        executionId: EXECUTION,
      }),
    },
  ];
  const record: SimulationRecord = {
    history: [],
    episodes: [],
    status: 'Pending',
    output: null,
    idMismatches: [],
  };
  const attempts = new Map<string, number>();
  let now = Date.UTC(2026, 0, 1);
  let seq = 0;
  const row = { executionId: EXECUTION, runtimeStatus: 'Pending' } as never;

  for (let episode = 1; episode <= (options.maxEpisodes ?? 200); episode++) {
    for (const r of options.raise ?? []) {
      if (r.afterEpisode === episode - 1) {
        waiting.push({
          id: `raise-${r.name}-${episode}`,
          instanceId: INSTANCE,
          event: newEvent(EventType.EventRaised, now, { Name: r.name, Input: JSON.stringify(r.data) }),
        });
      }
    }
    if (waiting.length === 0) break;
    // Reorder: the chosen message first, then a batch of what is waiting.
    const first = waiting.splice(
      options.pick ? options.pick(waiting.length) % waiting.length : 0,
      1,
    )[0] as ControlMessage;
    waiting.unshift(first);
    const size = Math.max(1, options.batch ? options.batch(waiting.length) : waiting.length);
    const inbox = waiting.slice(0, size).map((body) => ({ body }));
    const t =
      options.unsafeBatching && snapshot.executionId
        ? { start: undefined, take: inbox, drop: [], hold: [], again: false }
        : triage(snapshot, row, inbox);
    const consumed = new Set([...(t.start ? [t.start] : []), ...t.take, ...t.drop].map((m) => m.body));
    for (let i = waiting.length - 1; i >= 0; i--)
      if (consumed.has(waiting[i] as ControlMessage)) waiting.splice(i, 1);
    if (!t.start && t.take.length === 0) continue;
    now += 1000;
    let seen: { history: HistoryEvent[]; openTasks: Record<string, OpenTask>; actions: unknown } | undefined;
    const d = await decideEpisode({
      instanceId: INSTANCE,
      previous: snapshot,
      start: t.start?.body,
      take: t.take.map((m) => m.body),
      now,
      token: `token-${episode}`,
      partitionOf: () => 0,
      invoke: async (_name, req) => {
        const { result, openTasks } = await runSdk(fn, req.history, req.input ?? null);
        seen = { history: req.history, openTasks, actions: result.state?.actions };
        return result;
      },
    });
    const events = [
      ...snapshot.events.map((e) => ({ ...e, event: { ...e.event, IsPlayed: true } })),
      ...d.plan.appended,
    ];
    snapshot = {
      executionId: EXECUTION,
      etag: 'etag',
      events,
      processedActions: d.plan.processedActions,
      recentMessageIds: [],
    };
    if (seen) {
      record.episodes.push({ history: seen.history, actions: seen.actions });
      checkIds(seen.openTasks, events, record.idMismatches, episode);
    }
    const status = statusFromHistory(events);
    record.status = status.status;
    record.output = status.output === null ? null : (JSON.parse(status.output) as unknown);
    if (['Completed', 'Failed', 'ContinuedAsNew'].includes(status.status)) break;

    // Answer what the episode scheduled.
    const reply = (event: HistoryEvent): void => {
      waiting.push({
        id: `m${++seq}`,
        instanceId: INSTANCE,
        executionId: EXECUTION,
        token: `token-${episode}`,
        event,
      });
    };
    for (const a of d.plan.effects.activities) {
      const key = `${a.name}:${a.input}`;
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      const value = options.responder.activity(
        a.name,
        a.input === null ? undefined : JSON.parse(a.input),
        attempt,
      );
      reply(
        value instanceof Error
          ? newEvent(EventType.TaskFailed, now, {
              TaskScheduledId: a.taskId,
              ...activityFailure(a.name, value),
            })
          : newEvent(EventType.TaskCompleted, now, {
              TaskScheduledId: a.taskId,
              Result: value === undefined ? null : JSON.stringify(value),
            }),
      );
    }
    for (const t2 of d.plan.effects.timers)
      reply(
        newEvent(EventType.TimerFired, now, {
          TimerId: t2.timerId,
          FireAt: new Date(t2.fireAt).toISOString(),
        }),
      );
    for (const c of d.plan.effects.children) {
      const value = options.responder.child?.(c.name, c.input === null ? undefined : JSON.parse(c.input));
      reply(
        newEvent(EventType.SubOrchestrationInstanceCompleted, now, {
          TaskScheduledId: c.taskId,
          Result: JSON.stringify(value ?? null),
        }),
      );
    }
    for (const r of d.plan.effects.entityRequests) {
      if (r.request.signal) continue;
      const value = options.responder.entity?.(
        r.target,
        r.request.op,
        r.request.input ? JSON.parse(r.request.input) : undefined,
      );
      waiting.push({
        id: `m${++seq}`,
        instanceId: INSTANCE,
        executionId: EXECUTION,
        entityResponse: true,
        event: newEvent(EventType.EventRaised, now, {
          Name: r.request.id,
          Input: JSON.stringify({ result: JSON.stringify(value ?? null) }),
        }),
      });
    }
  }
  record.history = snapshot.events;
  return record;
}

/** Every task the SDK holds open under a numeric id must be scheduled by the engine under that id. */
function checkIds(
  openTasks: Record<string, OpenTask>,
  events: StoredEvent[],
  out: string[],
  episode: number,
): void {
  for (const [key, task] of Object.entries(openTasks)) {
    const id = Number(key);
    if (!Number.isInteger(id)) continue;
    const scheduled = events.find(
      (e) => SCHEDULING_TYPES.includes(e.event.EventType) && e.event.EventId === id,
    );
    if (!scheduled) {
      out.push(`episode ${episode}: SDK task ${id} has no scheduling event`);
      continue;
    }
    const name = task.actionObj?.functionName;
    if (name && scheduled.event.Name !== name) {
      out.push(`episode ${episode}: SDK task ${id} is ${name}, engine scheduled ${scheduled.event.Name}`);
    }
    const type = task.actionObj?.actionType;
    const expected =
      type === undefined
        ? undefined
        : ({ 0: 4, 1: 4, 2: 7, 3: 7, 5: 10, 7: 14, 9: 14 } as Record<number, number>)[type];
    if (expected !== undefined && scheduled.event.EventType !== expected) {
      out.push(
        `episode ${episode}: SDK task ${id} (action ${type}) is ${EventType[scheduled.event.EventType]} in the engine`,
      );
    }
  }
}
