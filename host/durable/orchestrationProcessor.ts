/**
 * Processes one orchestration instance's waiting messages as one episode (§2.5): load (or reuse) the
 * history, triage the messages, append the delivered events, run the orchestrator, schedule its new
 * actions, then checkpoint in the order that lets any episode replay safely after a crash:
 * (1) outgoing messages, (2) history rows + sentinel (ETag-conditional), then the instance row;
 * (3) the caller deletes the consumed messages.
 */
import type { EngineContext, ProcessResult } from './engineContext';
import { decideEpisode } from './episodeDecision';
import { effectsToOutgoing } from './episodeOutput';
import { EventType, type HistoryEvent, isTerminal } from './history';
import type { HistorySnapshot } from './historyStore';
import { newId } from './ids';
import type { InstanceRecord } from './instanceStore';
import type { ControlMessage } from './messages';
import { runEpisode } from './orchestrationRunner';
import { consumedMessageIds, startedEvent, statusFromHistory } from './orchestrationState';
import type { Delivered } from './queueTransport';
import { isWriteConflict } from './storageErrors';
import { triage } from './triage';

type Msg = Delivered<ControlMessage>;

interface Runtime {
  history: HistorySnapshot;
  row?: InstanceRecord;
}

const CACHE_LIMIT = 2000;
const RECENT_IDS = 200;

export class OrchestrationProcessor {
  readonly #cache = new Map<string, Runtime>();
  /** Instance-row writes in flight, chained per instance so they land in order. */
  readonly #rowWrites = new Map<string, Promise<boolean>>();

  constructor(private readonly ctx: EngineContext) {}

  /** Waits for instance-row writes still in flight. */
  async drain(): Promise<void> {
    while (this.#rowWrites.size > 0) await Promise.allSettled([...this.#rowWrites.values()]);
  }

  /**
   * The instance row follows the history commit off the critical path (the next episode need not
   * wait for it); a crash before it lands is repaired from history on the next load.
   */
  #writeRow(row: InstanceRecord): Promise<boolean> {
    const id = row.instanceId;
    const previous = this.#rowWrites.get(id) ?? Promise.resolve(true);
    const next: Promise<boolean> = previous
      .then(() => this.#writeRowWithRetry(row))
      .finally(() => {
        if (this.#rowWrites.get(id) === next) this.#rowWrites.delete(id);
      });
    this.#rowWrites.set(id, next);
    return next;
  }

  async #writeRowWithRetry(row: InstanceRecord): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.ctx.instances.replace(row);
        return true;
      } catch (err) {
        if (attempt >= 6) {
          this.ctx.logger.error('Could not write the instance row', {
            instanceId: row.instanceId,
            err: (err as Error).message,
          });
          this.#cache.delete(row.instanceId);
          return false;
        }
        await this.ctx.clock.sleep(100 * 2 ** attempt);
      }
    }
  }

  async process(instanceId: string, inbox: Msg[]): Promise<ProcessResult<Msg>> {
    let rt: Runtime;
    let t: ReturnType<typeof triage<Msg>>;
    try {
      let fresh: boolean;
      ({ rt, fresh } = await this.#runtime(instanceId, inbox));
      t = triage(rt.history, rt.row, inbox);
      if (!fresh && (t.drop.length > 0 || (t.hold.length > 0 && !t.again))) {
        // Another host may have moved the instance on: drop or hold only on fresh state.
        rt = await this.#load(instanceId);
        t = triage(rt.history, rt.row, inbox);
      }
    } catch (err) {
      this.#cache.delete(instanceId);
      this.ctx.logger.warn('Could not load orchestration state', { instanceId, err: (err as Error).message });
      return { consumed: [], dropped: [], held: inbox, retryAfterMs: 1000 };
    }
    // Held messages wait for a start or a resume, which may reach another host: look again later.
    const recheck =
      t.hold.length > 0 && !t.again
        ? startedEvent(rt.history.events) || t.start
          ? this.ctx.options.maxQueuePollingMs
          : 500
        : undefined;
    if (!t.start && t.take.length === 0) {
      return { consumed: [], dropped: t.drop, held: t.hold, retryAfterMs: recheck };
    }
    let rowWritten: Promise<boolean>;
    try {
      ({ rowWritten } = await this.#episode(instanceId, rt, t.start, t.take));
    } catch (err) {
      this.#cache.delete(instanceId);
      const conflict = isWriteConflict(err);
      this.ctx.logger[conflict ? 'debug' : 'warn']('Episode not committed; it will be retried', {
        instanceId,
        err: (err as Error).message,
      });
      return {
        consumed: [],
        dropped: t.drop,
        held: [...(t.start ? [t.start] : []), ...t.take, ...t.hold],
        retryAfterMs: conflict ? 50 : 1000,
      };
    }
    return {
      consumed: [...(t.start ? [t.start] : []), ...t.take],
      rowWritten,
      dropped: t.drop,
      held: t.hold,
      again: t.again,
      retryAfterMs: recheck,
    };
  }

  /** The instance's state: cached, unless a start names an execution the cache does not know. */
  async #runtime(instanceId: string, inbox: Msg[]): Promise<{ rt: Runtime; fresh: boolean }> {
    const rt = this.#cache.get(instanceId);
    // A start for an execution the cached row does not know: the client or a parent rewrote the row.
    const unknownStart = inbox.some(
      (m) =>
        m.body.event.EventType === EventType.ExecutionStarted &&
        m.body.executionId !== rt?.row?.executionId &&
        m.body.executionId !== rt?.history.executionId,
    );
    if (rt && !unknownStart) return { rt, fresh: false };
    return { rt: await this.#load(instanceId), fresh: true };
  }

  async #load(instanceId: string): Promise<Runtime> {
    const [history, row] = await Promise.all([
      this.ctx.history.load(instanceId),
      this.ctx.instances.get(instanceId),
    ]);
    const rt: Runtime = { history, row };
    await this.#reconcileRow(instanceId, rt);
    this.#remember(instanceId, rt);
    return rt;
  }

  /** After a crash between the history commit and the row write, the row lags the history: fix it. */
  async #reconcileRow(instanceId: string, rt: Runtime): Promise<void> {
    const started = startedEvent(rt.history.events);
    if (!started || (rt.row && rt.row.executionId !== rt.history.executionId)) return;
    const derived = statusFromHistory(rt.history.events);
    const last = rt.history.events[rt.history.events.length - 1];
    const next = last?.event.EventType === EventType.ContinueAsNew ? last.meta.nextExecutionId : undefined;
    const customStatus = rt.history.customStatus;
    const statusLags = customStatus !== undefined && rt.row?.customStatus !== customStatus;
    if (rt.row && rt.row.runtimeStatus === derived.status && !next && !statusLags) return;
    if (rt.row?.runtimeStatus === 'ContinuedAsNew' && next === rt.row.executionId) return;
    rt.row = this.#row(instanceId, rt.row, started, rt.history.executionId ?? '', derived.status, {
      output: derived.output,
      completedAt: derived.completedAt,
      customStatus,
      executionId: next,
    });
    await this.ctx.instances.replace(rt.row);
  }

  #remember(instanceId: string, rt: Runtime): void {
    this.#cache.delete(instanceId);
    this.#cache.set(instanceId, rt);
    if (this.#cache.size > CACHE_LIMIT) {
      const oldest = this.#cache.keys().next().value as string;
      this.#cache.delete(oldest);
    }
  }

  /** Runs and commits one episode; answers with the instance row's write, still in flight. */
  async #episode(
    instanceId: string,
    rt: Runtime,
    start: Msg | undefined,
    take: Msg[],
  ): Promise<{ rowWritten: Promise<boolean> }> {
    const { clock, outbox } = this.ctx;
    const previous = rt.history;
    const d = await decideEpisode({
      instanceId,
      previous,
      start: start?.body,
      take: take.map((m) => m.body),
      now: clock.now(),
      token: newId(),
      partitionOf: (id) => outbox.partitionOf(id),
      invoke: async (name, req) => {
        const fn = this.ctx.functions.get('orchestration', name);
        return fn ? runEpisode(this.ctx.invoker, { fn, ...req }) : undefined;
      },
    });
    const { plan, executionId, started } = d;
    const past = start ? [] : previous.events;
    const now = d.identity.now;

    // (1) everything this episode sends
    const { items, childRows } = effectsToOutgoing(d.identity, plan.effects);
    if (d.message) items.push({ kind: 'control', message: d.message });
    await Promise.all(childRows.map((r) => this.ctx.instances.replace(r)));
    await outbox.sendAll(items);

    // (2) history, conditional on the sentinel's ETag; then the instance row
    const recentMessageIds = start
      ? [...consumedMessageIds(previous.events), ...previous.recentMessageIds].slice(-RECENT_IDS)
      : previous.recentMessageIds;
    // An episode that sets no custom status keeps the execution's last one.
    const customStatus = d.customStatus ?? (start ? undefined : previous.customStatus);
    const etag = await this.ctx.history.commit(
      instanceId,
      {
        etag: previous.etag,
        executionId,
        startSequence: past.length,
        events: plan.appended,
        processedActions: plan.processedActions,
        recentMessageIds,
        customStatus,
      },
      now,
    );
    const events = [...past.map((e) => ({ ...e, event: { ...e.event, IsPlayed: true } })), ...plan.appended];
    const derived = statusFromHistory(events);
    const row = this.#row(instanceId, rt.row, started, executionId, derived.status, {
      output: derived.output,
      completedAt: derived.completedAt,
      customStatus: d.customStatus,
      executionId: d.nextExecutionId,
    });
    rt.history = {
      executionId,
      etag,
      events,
      processedActions: plan.processedActions,
      recentMessageIds,
      customStatus,
    };
    rt.row = row;
    const rowWritten = this.#writeRow(row);
    if (isTerminal(derived.status)) this.#cache.delete(instanceId);
    else this.#remember(instanceId, rt);
    this.ctx.logger.debug('Episode committed', {
      instanceId,
      status: derived.status,
      appended: plan.appended.length,
      sent: items.length,
    });
    return { rowWritten };
  }

  #row(
    instanceId: string,
    previous: InstanceRecord | undefined,
    started: HistoryEvent,
    executionId: string,
    status: InstanceRecord['runtimeStatus'],
    extra: {
      output: string | null;
      completedAt?: number;
      customStatus?: string | null;
      executionId?: string;
    },
  ): InstanceRecord {
    const now = this.ctx.clock.now();
    const sameExecution = previous?.executionId === executionId;
    return {
      instanceId,
      name: started.Name ?? '',
      version: started.Version ?? null,
      executionId: extra.executionId ?? executionId,
      runtimeStatus: status,
      input: started.Input ?? null,
      output: extra.output,
      customStatus:
        extra.customStatus !== undefined ? extra.customStatus : sameExecution ? previous.customStatus : null,
      createdTime: previous?.createdTime || Date.parse(started.Timestamp) || now,
      lastUpdatedTime: now,
      completedTime: extra.completedAt ?? null,
      generation: started.Generation ?? 0,
      parentInstanceId: started.ParentInstance?.OrchestrationInstance.InstanceId ?? null,
    };
  }
}
