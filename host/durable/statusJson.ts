/**
 * The status JSON of the HTTP API (EXT StatusResponsePayload): `input` and `output` are always
 * present (null if need be), times use the .NET "s" format plus Z, and with showHistory the
 * history summary is sent both as `historyEvents` (the extension's key) and `history` (the key the
 * JS SDK reads).
 */
import { EventType, type HistoryEvent, OrchestrationStatus } from './history';
import type { StoredEvent } from './historyStore';
import type { InstanceRecord } from './instanceStore';

export interface StatusJson {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  input: unknown;
  customStatus: unknown;
  output: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  historyEvents?: Record<string, unknown>[];
  history?: Record<string, unknown>[];
}

export function dotnetTime(ms: number): string {
  return new Date(ms || 0).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function parseJsonText(text: string | null | undefined): unknown {
  if (text === null || text === undefined || text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function toStatusJson(
  record: InstanceRecord,
  options: { showInput?: boolean; history?: Record<string, unknown>[] } = {},
): StatusJson {
  const status: StatusJson = {
    name: record.name,
    instanceId: record.instanceId,
    runtimeStatus: record.runtimeStatus,
    input: options.showInput === false ? null : parseJsonText(record.input),
    customStatus: parseJsonText(record.customStatus),
    output: parseJsonText(record.output),
    createdTime: dotnetTime(record.createdTime),
    lastUpdatedTime: dotnetTime(record.lastUpdatedTime),
  };
  if (options.history) {
    status.historyEvents = options.history;
    status.history = options.history;
  }
  return status;
}

const HIDDEN = [
  EventType.OrchestratorStarted,
  EventType.OrchestratorCompleted,
  EventType.TaskScheduled,
  EventType.SubOrchestrationInstanceCreated,
  EventType.TimerCreated,
  EventType.EventSent,
  EventType.GenericEvent,
  EventType.HistoryState,
];

/** A readable summary of an execution's history, as showHistory returns it. */
export function historySummary(
  events: readonly StoredEvent[],
  options: { showHistoryOutput?: boolean; showInput?: boolean } = {},
): Record<string, unknown>[] {
  const scheduled = new Map<number, HistoryEvent>();
  const out: Record<string, unknown>[] = [];
  for (const { event: e } of events) {
    if (
      e.EventType === EventType.TaskScheduled ||
      e.EventType === EventType.SubOrchestrationInstanceCreated
    ) {
      scheduled.set(e.EventId, e);
    }
    if (HIDDEN.includes(e.EventType)) continue;
    const item: Record<string, unknown> = { EventType: EventType[e.EventType] };
    const from = e.TaskScheduledId !== undefined ? scheduled.get(e.TaskScheduledId) : undefined;
    switch (e.EventType) {
      case EventType.ExecutionStarted:
        item.FunctionName = e.Name;
        if (options.showInput !== false) item.Input = parseJsonText(e.Input);
        break;
      case EventType.TaskCompleted:
      case EventType.SubOrchestrationInstanceCompleted:
        item.FunctionName = from?.Name;
        if (from?.InstanceId) item.InstanceId = from.InstanceId;
        if (options.showHistoryOutput) item.Result = parseJsonText(e.Result);
        item.ScheduledTime = from?.Timestamp;
        break;
      case EventType.TaskFailed:
      case EventType.SubOrchestrationInstanceFailed:
        item.FunctionName = from?.Name;
        if (from?.InstanceId) item.InstanceId = from.InstanceId;
        item.Reason = e.Reason;
        item.Details = e.Details;
        if (e.FailureDetails) item.FailureDetails = e.FailureDetails;
        item.ScheduledTime = from?.Timestamp;
        break;
      case EventType.TimerFired:
        item.FireAt = e.FireAt;
        break;
      case EventType.EventRaised:
        item.Name = e.Name;
        if (options.showHistoryOutput) item.Input = parseJsonText(e.Input);
        break;
      case EventType.ExecutionCompleted:
      case EventType.ContinueAsNew:
        item.OrchestrationStatus = OrchestrationStatus[e.OrchestrationStatus ?? 1];
        if (options.showHistoryOutput) item.Result = parseJsonText(e.Result);
        if (e.FailureDetails) item.FailureDetails = e.FailureDetails;
        break;
      case EventType.ExecutionTerminated:
        item.Input = e.Input;
        break;
      case EventType.ExecutionSuspended:
      case EventType.ExecutionResumed:
        item.Reason = e.Reason ?? e.Input;
        break;
      default:
        break;
    }
    item.Timestamp = e.Timestamp;
    out.push(item);
  }
  return out;
}
