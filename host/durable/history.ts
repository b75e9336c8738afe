/**
 * History events as the out-of-proc protocol carries them (PascalCase, integer EventType; DF
 * history/*.js, DTFX History/*.cs), the orchestration status enums, and builders for the events
 * the engine appends.
 */

export enum EventType {
  ExecutionStarted = 0,
  ExecutionCompleted = 1,
  ExecutionFailed = 2,
  ExecutionTerminated = 3,
  TaskScheduled = 4,
  TaskCompleted = 5,
  TaskFailed = 6,
  SubOrchestrationInstanceCreated = 7,
  SubOrchestrationInstanceCompleted = 8,
  SubOrchestrationInstanceFailed = 9,
  TimerCreated = 10,
  TimerFired = 11,
  OrchestratorStarted = 12,
  OrchestratorCompleted = 13,
  EventSent = 14,
  EventRaised = 15,
  ContinueAsNew = 16,
  GenericEvent = 17,
  HistoryState = 18,
  ExecutionSuspended = 19,
  ExecutionResumed = 20,
  ExecutionRewound = 21,
}

/** DTFX OrchestrationStatus values, as stored in ExecutionCompleted.OrchestrationStatus. */
export enum OrchestrationStatus {
  Running = 0,
  Completed = 1,
  ContinuedAsNew = 2,
  Failed = 3,
  Canceled = 4,
  Terminated = 5,
  Pending = 6,
  Suspended = 7,
}

export type RuntimeStatus = keyof typeof OrchestrationStatus;

export const TERMINAL_STATUSES: readonly RuntimeStatus[] = ['Completed', 'Failed', 'Terminated', 'Canceled'];

export function isTerminal(status: RuntimeStatus | undefined): boolean {
  return status !== undefined && TERMINAL_STATUSES.includes(status);
}

export interface FailureDetails {
  ErrorType: string;
  ErrorMessage: string;
  StackTrace?: string;
  IsNonRetriable?: boolean;
  Properties?: Record<string, unknown>;
  InnerFailure?: FailureDetails;
}

export interface ParentInstance {
  Name: string;
  Version?: string | null;
  OrchestrationInstance: { InstanceId: string; ExecutionId: string };
  TaskScheduleId: number;
}

/** One history event. Optional fields depend on EventType. */
export interface HistoryEvent {
  EventType: EventType;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: string;
  Name?: string;
  Version?: string | null;
  Input?: string | null;
  Result?: string | null;
  Reason?: string;
  Details?: string;
  FailureDetails?: FailureDetails;
  TaskScheduledId?: number;
  TimerId?: number;
  FireAt?: string;
  InstanceId?: string;
  OrchestrationInstance?: { InstanceId: string; ExecutionId: string };
  ParentInstance?: ParentInstance | null;
  OrchestrationStatus?: OrchestrationStatus;
  Generation?: number;
  Tags?: Record<string, string> | null;
  ScheduledStartTime?: string | null;
}

export function newEvent(type: EventType, at: number, fields: Partial<HistoryEvent> = {}): HistoryEvent {
  return { EventType: type, EventId: -1, IsPlayed: false, Timestamp: new Date(at).toISOString(), ...fields };
}

export function orchestratorStarted(at: number): HistoryEvent {
  return newEvent(EventType.OrchestratorStarted, at);
}

export function orchestratorCompleted(at: number): HistoryEvent {
  return newEvent(EventType.OrchestratorCompleted, at);
}

export function executionStarted(
  at: number,
  fields: {
    name: string;
    version?: string | null;
    input: string | null;
    instanceId: string;
    executionId: string;
    parent?: ParentInstance | null;
    generation?: number;
  },
): HistoryEvent {
  return newEvent(EventType.ExecutionStarted, at, {
    Name: fields.name,
    Version: fields.version ?? null,
    Input: fields.input,
    OrchestrationInstance: { InstanceId: fields.instanceId, ExecutionId: fields.executionId },
    ParentInstance: fields.parent ?? null,
    Tags: null,
    ScheduledStartTime: null,
    Generation: fields.generation ?? 0,
  });
}

/** Events that complete a scheduled task, with the key that names the task. */
export const COMPLETION_KEY: Partial<Record<EventType, 'TaskScheduledId' | 'TimerId'>> = {
  [EventType.TaskCompleted]: 'TaskScheduledId',
  [EventType.TaskFailed]: 'TaskScheduledId',
  [EventType.SubOrchestrationInstanceCompleted]: 'TaskScheduledId',
  [EventType.SubOrchestrationInstanceFailed]: 'TaskScheduledId',
  [EventType.TimerFired]: 'TimerId',
};

/** Events that schedule something under their EventId. */
export const SCHEDULING_TYPES: readonly EventType[] = [
  EventType.TaskScheduled,
  EventType.SubOrchestrationInstanceCreated,
  EventType.TimerCreated,
  EventType.EventSent,
];

export function completedTaskId(event: HistoryEvent): number | undefined {
  const key = COMPLETION_KEY[event.EventType];
  return key ? (event[key] as number | undefined) : undefined;
}
