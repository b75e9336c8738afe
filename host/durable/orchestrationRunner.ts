/**
 * Runs one orchestrator episode through the Invoker: builds the binding info the SDK expects
 * (§2.1: replay schema V3, a huge maximumShortTimerDuration so LongTimerTask is never used) and
 * turns the response (or the thrown OrchestrationFailureError) into an OrchestratorState.
 */
import type { RegisteredFunction } from '../core/coreApi';
import type { Invoker } from '../core/invoker';
import type { RpcTypedData } from '../core/rpcTypes';
import type { OrchestratorState } from './actions';
import { splitOrchestratorError } from './failures';
import type { FailureDetails, HistoryEvent } from './history';

/** 100 years: every durable timer is one timer, however long. */
export const MAXIMUM_SHORT_TIMER_DURATION = '36500.00:00:00';

export interface EpisodeRequest {
  fn: RegisteredFunction;
  instanceId: string;
  parentInstanceId?: string | null;
  /** Past events (IsPlayed true) followed by this episode's new events. */
  history: HistoryEvent[];
  /** ExecutionStarted.Input, as JSON text. */
  input: string | null | undefined;
  logFields?: Record<string, unknown>;
}

export type EpisodeResult =
  | { ok: true; state: OrchestratorState }
  | {
      ok: false;
      /** What the orchestrator returned with its failure (actions to schedule before failing). */
      state?: OrchestratorState;
      error: string;
      stack?: string;
      failureDetails?: FailureDetails;
    };

export function bindingInfo(req: Omit<EpisodeRequest, 'fn'>): Record<string, unknown> {
  return {
    history: req.history,
    input: req.input === undefined || req.input === null ? null : JSON.parse(req.input),
    instanceId: req.instanceId,
    isReplaying: req.history.some((e) => e.IsPlayed),
    parentInstanceId: req.parentInstanceId ?? null,
    upperSchemaVersion: 1,
    upperSchemaVersionNew: 2,
    longRunningTimerIntervalDuration: '3.00:00:00',
    maximumShortTimerDuration: MAXIMUM_SHORT_TIMER_DURATION,
    defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
  };
}

function parseReturnValue(value: RpcTypedData | null | undefined): OrchestratorState | undefined {
  const text = value?.json ?? value?.string;
  if (typeof text !== 'string') return undefined;
  const parsed = JSON.parse(text) as OrchestratorState;
  return parsed && typeof parsed === 'object' && 'isDone' in parsed ? parsed : undefined;
}

export async function runEpisode(invoker: Invoker, req: EpisodeRequest): Promise<EpisodeResult> {
  const outcome = await invoker.invoke(req.fn, {
    triggerData: { string: JSON.stringify(bindingInfo(req)) },
    logFields: { instanceId: req.instanceId, ...req.logFields },
  });
  if (outcome.ok) {
    const state = parseReturnValue(outcome.response?.returnValue);
    if (state) return { ok: true, state };
    return { ok: false, error: 'The orchestrator returned no OrchestratorState.' };
  }
  const thrown = outcome.error?.message ?? 'unknown error';
  const { message, stateJson } = splitOrchestratorError(thrown);
  if (!stateJson) return { ok: false, error: message, stack: outcome.error?.stack };
  try {
    const state = JSON.parse(stateJson) as OrchestratorState;
    return {
      ok: false,
      state,
      error: state.error ?? message,
      stack: outcome.error?.stack,
      failureDetails: state.failureDetails,
    };
  } catch {
    return { ok: false, error: message, stack: outcome.error?.stack };
  }
}
