/**
 * The decision of one orchestration episode, without I/O: append the delivered events (a start,
 * carried events, completions, control events), run the orchestrator through `invoke`, schedule its
 * new actions and close the episode (completed, failed, continued-as-new, terminated or waiting).
 * The processor commits what this returns; the unit tests drive it with the SDK directly.
 */
import { activityInputText, flattenActions } from './actions';
import { continueAsNewStart, type EpisodeIdentity, parentNotification } from './episodeOutput';
import { EpisodePlan } from './episodePlan';
import { type FailureFields, missingFunctionFailure, orchestratorFailure } from './failures';
import {
  EventType,
  type HistoryEvent,
  newEvent,
  OrchestrationStatus,
  orchestratorCompleted,
  orchestratorStarted,
} from './history';
import type { EventMeta, HistorySnapshot, StoredEvent } from './historyStore';
import { newId } from './ids';
import type { ControlMessage } from './messages';
import type { EpisodeRequest, EpisodeResult } from './orchestrationRunner';
import { unconsumedEvents } from './orchestrationState';

const CONTROL_TYPES = [
  EventType.ExecutionSuspended,
  EventType.ExecutionResumed,
  EventType.ExecutionTerminated,
];

export interface DecisionInput {
  instanceId: string;
  previous: HistorySnapshot;
  /** A message starting a new execution, delivered first. */
  start?: ControlMessage;
  take: ControlMessage[];
  now: number;
  token: string;
  partitionOf(instanceId: string): number;
  /** Runs the orchestrator; undefined when no such orchestrator function exists. */
  invoke(name: string, req: Omit<EpisodeRequest, 'fn'>): Promise<EpisodeResult | undefined>;
}

export interface Decision {
  plan: EpisodePlan;
  identity: EpisodeIdentity;
  executionId: string;
  started: HistoryEvent;
  startedMeta: EventMeta;
  /** New custom status as JSON text; undefined when the orchestrator did not report one. */
  customStatus?: string;
  /** The parent's completion message, or the continue-as-new restart. */
  message?: ControlMessage;
  nextExecutionId?: string;
}

/** The episode clock: never earlier than the previous episode's, so currentUtcDateTime only moves on. */
export function episodeTime(past: readonly StoredEvent[], now: number): number {
  for (let i = past.length - 1; i >= 0; i--) {
    const e = (past[i] as StoredEvent).event;
    if (e.EventType === EventType.OrchestratorStarted) return Math.max(now, Date.parse(e.Timestamp) + 1);
  }
  return now;
}

export async function decideEpisode(input: DecisionInput): Promise<Decision> {
  const { instanceId, previous, start, take, token } = input;
  const past: StoredEvent[] = start ? [] : previous.events;
  const now = episodeTime(past, input.now);
  const executionId = start?.executionId ?? previous.executionId ?? '';
  const plan = new EpisodePlan({
    instanceId,
    executionId,
    now,
    token,
    past,
    processedActions: start ? 0 : previous.processedActions,
  });
  const terminated = take.some((m) => m.event.EventType === EventType.ExecutionTerminated);
  const visible = take.filter((m) => !CONTROL_TYPES.includes(m.event.EventType));
  const invoke = !terminated && (Boolean(start) || visible.length > 0);
  if (invoke) plan.append(orchestratorStarted(now));
  if (start) {
    plan.deliver(start);
    for (const e of start.carried ?? []) plan.append({ ...e, IsPlayed: false }, {});
  }
  for (const m of take) plan.deliver(m);

  const startedStored = plan.all.find((e) => e.event.EventType === EventType.ExecutionStarted) as StoredEvent;
  const started = startedStored.event;
  const name = started.Name ?? '';
  const identity: EpisodeIdentity = {
    instanceId,
    executionId,
    name,
    version: started.Version,
    token,
    now,
    partitionOf: input.partitionOf,
  };
  const decision: Decision = { plan, identity, executionId, started, startedMeta: startedStored.meta };

  if (terminated) {
    const reason = take.find((m) => m.event.EventType === EventType.ExecutionTerminated)?.event.Input ?? '';
    decision.message = parentNotification(started, startedStored.meta, now, {
      ok: false,
      failure: { Reason: `Orchestration terminated: ${reason}`, Details: '' },
    });
    return decision;
  }
  if (!invoke) return decision;

  const result = await input.invoke(name, {
    instanceId,
    parentInstanceId: started.ParentInstance?.OrchestrationInstance.InstanceId ?? null,
    history: [...past.map((e) => ({ ...e.event, IsPlayed: true })), ...plan.appended.map((e) => e.event)],
    input: started.Input,
    logFields: {
      episode: past.filter((e) => e.event.EventType === EventType.OrchestratorStarted).length + 1,
    },
  });
  let failure: FailureFields | undefined;
  if (!result) {
    failure = missingFunctionFailure('an orchestrator', name);
  } else {
    const state = result.state;
    if (state?.customStatus !== undefined) decision.customStatus = JSON.stringify(state.customStatus);
    const leaves = state ? flattenActions(state) : [];
    const actions = plan.applyActions(leaves);
    plan.append(orchestratorCompleted(now));
    if (!result.ok) {
      failure = orchestratorFailure(name, result.error, result.stack, result.failureDetails);
    } else if (actions.unsupported) {
      failure = orchestratorFailure(name, actions.unsupported, undefined);
    } else if (state?.isDone && actions.continueAsNew) {
      decision.nextExecutionId = newId();
      const next = activityInputText(actions.continueAsNew.input);
      plan.append(
        newEvent(EventType.ContinueAsNew, now, {
          OrchestrationStatus: OrchestrationStatus.ContinuedAsNew,
          Result: next,
        }),
        { nextExecutionId: decision.nextExecutionId },
      );
      decision.message = continueAsNewStart(
        identity,
        started,
        startedStored.meta,
        decision.nextExecutionId,
        next,
        unconsumedEvents(plan.all, leaves),
      );
    } else if (state?.isDone) {
      const output = state.output === undefined ? null : JSON.stringify(state.output);
      plan.append(
        newEvent(EventType.ExecutionCompleted, now, {
          OrchestrationStatus: OrchestrationStatus.Completed,
          Result: output,
        }),
      );
      decision.message = parentNotification(started, startedStored.meta, now, { ok: true, result: output });
    }
  }
  if (failure) {
    if (plan.appended[plan.appended.length - 1]?.event.EventType !== EventType.OrchestratorCompleted) {
      plan.append(orchestratorCompleted(now));
    }
    plan.append(
      newEvent(EventType.ExecutionCompleted, now, {
        OrchestrationStatus: OrchestrationStatus.Failed,
        Result: JSON.stringify(failure.Reason),
        ...(failure.FailureDetails ? { FailureDetails: failure.FailureDetails } : {}),
      }),
    );
    decision.message = parentNotification(started, startedStored.meta, now, { ok: false, failure });
  }
  return decision;
}
