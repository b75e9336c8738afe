/** What the engine's processors share: options, stores, transport, the app's functions, clock, logs. */
import type { Clock } from '../../shared/clock';
import type { Logger } from '../../shared/logger';
import type { Invoker } from '../core/invoker';
import type { FunctionIndex } from './functionIndex';
import type { HistoryStore } from './historyStore';
import type { InstanceStore } from './instanceStore';
import type { LargePayloads } from './largePayloads';
import type { DurableOptions } from './options';
import type { Outbox } from './outbox';
import type { QueueTransport } from './queueTransport';
import type { TimerStore } from './timerStore';

export interface EngineContext {
  options: DurableOptions;
  history: HistoryStore;
  instances: InstanceStore;
  timers: TimerStore;
  payloads: LargePayloads;
  transport: QueueTransport;
  outbox: Outbox;
  functions: FunctionIndex;
  invoker: Invoker;
  clock: Clock;
  logger: Logger;
}

/** What processing an instance's inbox decided for each message. */
export interface ProcessResult<T> {
  /** Recorded in history: delete once committed (checkpoint step 3). */
  consumed: T[];
  /**
   * Resolves true once the instance row matches the committed history. Consumed messages wait for it:
   * should the host die first, their redelivery makes the next host load the instance and repair the
   * row. False: the row could not be written, so keep them for that redelivery.
   */
  rowWritten?: Promise<boolean>;
  /** Duplicates and stale messages: delete now. */
  dropped: T[];
  /** Not deliverable yet (suspended, not started, next batch): keep. */
  held: T[];
  /** Run again at once (held messages are deliverable in a next episode). */
  again?: boolean;
  /** Failed to commit: retry after this delay. */
  retryAfterMs?: number;
}
