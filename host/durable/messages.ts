/**
 * What travels through the task hub queues: control messages (one history event for one instance,
 * on `{hub}-control-NN`) and work items (one activity execution, on `{hub}-workitems`).
 */
import type { HistoryEvent } from './history';
import type { EventMeta } from './historyStore';

export interface ControlMessage {
  /** Unique per message; recorded with the event so a redelivery is recognised. */
  id: string;
  instanceId: string;
  /** The execution a completion belongs to; completions for another execution are dropped. */
  executionId?: string;
  /** The scheduling episode's token, echoed back by completions. */
  token?: string;
  event: HistoryEvent;
  /** Engine facts to store with the event (e.g. a child's parent token on ExecutionStarted). */
  meta?: EventMeta;
  /** Continue-as-new: raised events carried into the new execution. */
  carried?: HistoryEvent[];
  /** An entity's answer to a call; de-duplicated by the request id in `event.Name`. */
  entityResponse?: boolean;
}

export interface WorkItemMessage {
  id: string;
  instanceId: string;
  executionId: string;
  taskId: number;
  name: string;
  /** Activity input as JSON text (or null for none). */
  input: string | null;
  token: string;
}
