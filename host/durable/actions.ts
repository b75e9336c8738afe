/**
 * The orchestrator's answer (DF OrchestratorState) and its actions. Actions are cumulative: every
 * episode returns all actions since ExecutionStarted, so the engine flattens them depth-first into
 * leaves and treats the leaves beyond those it already processed as new.
 */
import type { FailureDetails } from './history';
import type { RetryPolicyJson } from './historyStore';

export enum ActionType {
  CallActivity = 0,
  CallActivityWithRetry = 1,
  CallSubOrchestrator = 2,
  CallSubOrchestratorWithRetry = 3,
  ContinueAsNew = 4,
  CreateTimer = 5,
  WaitForExternalEvent = 6,
  CallEntity = 7,
  CallHttp = 8,
  SignalEntity = 9,
  ScheduledSignalEntity = 10,
  WhenAny = 11,
  WhenAll = 12,
  LockEntities = 13,
  ReleaseEntities = 14,
}

export interface Action {
  actionType: ActionType;
  functionName?: string;
  input?: unknown;
  retryOptions?: RetryPolicyJson;
  instanceId?: string;
  version?: string;
  fireAt?: string;
  isCanceled?: boolean;
  externalEventName?: string;
  operation?: string;
  compoundActions?: Action[];
}

export interface OrchestratorState {
  isDone: boolean;
  actions: Action[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  failureDetails?: FailureDetails;
  schemaVersion?: number;
}

/** All leaf actions in order, compound actions (Task.all / Task.any) expanded depth-first. */
export function flattenActions(state: Pick<OrchestratorState, 'actions'>): Action[] {
  const leaves: Action[] = [];
  const walk = (action: Action): void => {
    if (action.actionType === ActionType.WhenAll || action.actionType === ActionType.WhenAny) {
      for (const child of action.compoundActions ?? []) walk(child);
    } else {
      leaves.push(action);
    }
  };
  for (const group of state.actions ?? []) for (const action of group ?? []) walk(action);
  return leaves;
}

/** Whether the JS SDK gives this leaf a task id (its sequence number). */
export function consumesTaskId(action: Action): boolean {
  return (
    action.actionType !== ActionType.WaitForExternalEvent && action.actionType !== ActionType.ContinueAsNew
  );
}

/**
 * The input text an activity receives (§1.6): a string input is passed verbatim (the SDK already
 * JSON-encoded it), anything else is JSON-encoded; no input is null.
 */
export function activityInputText(input: unknown): string | null {
  if (input === undefined) return null;
  return typeof input === 'string' ? input : JSON.stringify(input);
}

/** JSON text for a raw (not pre-encoded) value; undefined becomes null. */
export function jsonText(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}
