/**
 * Runs an entity's waiting operations as one batch (§2.8): one entity function invocation, then
 * (1) answers to callers and signals to other entities, (2) the new state in the Instances row
 * (ETag-conditional), (3) the caller deletes the consumed requests. Operations on one entity run
 * one batch at a time, in arrival order; recently processed request ids are kept so a re-sent
 * request is not applied twice.
 */
import type { EngineContext, ProcessResult } from './engineContext';
import { type EntityRequest, entityInstanceId, parseEntityInstanceId } from './entityIds';
import { EventType, newEvent } from './history';
import { deterministicId, newId } from './ids';
import type { InstanceRecord } from './instanceStore';
import type { ControlMessage } from './messages';
import type { Outgoing } from './outbox';
import type { Delivered } from './queueTransport';
import { isWriteConflict } from './storageErrors';

type Msg = Delivered<ControlMessage>;

interface OperationResult {
  isError?: boolean;
  result?: string;
}

interface EntityResponse {
  entityExists?: boolean;
  entityState?: string | null;
  results?: OperationResult[];
  signals?: { target: { name: string; key: string }; name: string; input?: string; requestId?: string }[];
}

const MAX_BATCH = 100;
const RECENT_IDS = 500;

export class EntityProcessor {
  constructor(private readonly ctx: EngineContext) {}

  async process(instanceId: string, inbox: Msg[]): Promise<ProcessResult<Msg>> {
    let row: InstanceRecord | undefined;
    try {
      row = await this.ctx.instances.get(instanceId);
    } catch (err) {
      this.ctx.logger.warn('Could not load entity state', { instanceId, err: (err as Error).message });
      return { consumed: [], dropped: [], held: inbox, retryAfterMs: 1000 };
    }
    const recent = new Set(row?.entityRecentIds ?? []);
    const batch: { m: Msg; req: EntityRequest }[] = [];
    const result: ProcessResult<Msg> = { consumed: [], dropped: [], held: [] };
    for (const m of inbox) {
      const req = parseRequest(m.body);
      if (!req || recent.has(req.id)) result.dropped.push(m);
      else if (batch.length >= MAX_BATCH) {
        result.held.push(m);
        result.again = true;
      } else {
        recent.add(req.id);
        batch.push({ m, req });
      }
    }
    if (batch.length === 0) return result;
    try {
      await this.#run(
        instanceId,
        row,
        batch.map((b) => b.req),
      );
    } catch (err) {
      const conflict = isWriteConflict(err);
      this.ctx.logger[conflict ? 'debug' : 'warn']('Entity batch not committed; it will be retried', {
        instanceId,
        err: (err as Error).message,
      });
      return {
        consumed: [],
        dropped: result.dropped,
        held: inbox.filter((m) => !result.dropped.includes(m)),
        retryAfterMs: conflict ? 50 : 1000,
      };
    }
    result.consumed = batch.map((b) => b.m);
    return result;
  }

  async #run(instanceId: string, row: InstanceRecord | undefined, requests: EntityRequest[]): Promise<void> {
    const { name, key } = parseEntityInstanceId(instanceId);
    const response = await this.#invoke(name, key, row, requests);
    const items: Outgoing[] = [];
    requests.forEach((req, i) => {
      if (req.signal || !req.parent) return;
      const r = response.results?.[i];
      const failed = r?.isError === true;
      const answer = {
        result:
          failed && (!r?.result || r.result === '{}')
            ? JSON.stringify(`Operation '${req.op}' on entity '${instanceId}' failed.`)
            : r?.result,
        ...(failed ? { exceptionType: 'Error' } : {}),
      };
      items.push({
        kind: 'control',
        message: {
          id: newId(),
          instanceId: req.parent,
          executionId: req.parentExecution,
          entityResponse: true,
          event: newEvent(EventType.EventRaised, this.ctx.clock.now(), {
            Name: req.id,
            Input: JSON.stringify(answer),
          }),
        },
      });
    });
    const perSource = new Map<string, number>();
    for (const s of response.signals ?? []) {
      const source = s.requestId ?? instanceId;
      const n = perSource.get(source) ?? 0;
      perSource.set(source, n + 1);
      const request: EntityRequest = {
        op: s.name,
        id: deterministicId('signal', instanceId, source, n),
        signal: true,
        input: s.input ? s.input : undefined,
      };
      items.push({
        kind: 'control',
        message: {
          id: newId(),
          instanceId: entityInstanceId(s.target.name, s.target.key),
          event: newEvent(EventType.EventRaised, this.ctx.clock.now(), {
            Name: 'op',
            Input: JSON.stringify(request),
          }),
        },
      });
    }
    await this.ctx.outbox.sendAll(items);

    const now = this.ctx.clock.now();
    const record: InstanceRecord = {
      instanceId,
      name,
      executionId: row?.executionId ?? '',
      runtimeStatus: 'Running',
      input: null,
      output: null,
      customStatus: null,
      createdTime: row?.createdTime ?? now,
      lastUpdatedTime: now,
      generation: 0,
      entityExists: response.entityExists === true,
      entityState: response.entityExists ? (response.entityState ?? null) : null,
      entityRecentIds: [...(row?.entityRecentIds ?? []), ...requests.map((r) => r.id)].slice(-RECENT_IDS),
    };
    if (row?.etag) await this.ctx.instances.replace(record, row.etag);
    else await this.ctx.instances.create(record);
  }

  async #invoke(
    name: string,
    key: string,
    row: InstanceRecord | undefined,
    requests: EntityRequest[],
  ): Promise<EntityResponse> {
    const fn = this.ctx.functions.get('entity', name);
    const failAll = (message: string): EntityResponse => ({
      entityExists: row?.entityExists ?? false,
      entityState: row?.entityState ?? null,
      results: requests.map(() => ({ isError: true, result: JSON.stringify(message) })),
      signals: [],
    });
    if (!fn)
      return failAll(`The function '${name}' doesn't exist, is disabled, or is not an entity function.`);
    const binding = {
      self: { name, key },
      exists: row?.entityExists ?? false,
      state: row?.entityExists ? (row.entityState ?? null) : null,
      batch: requests.map((r) => ({
        id: r.id,
        name: r.op,
        input: r.input ?? null,
        isSignal: r.signal === true,
      })),
    };
    const outcome = await this.ctx.invoker.invoke(fn, {
      triggerData: { string: JSON.stringify(binding) },
      logFields: { instanceId: entityInstanceId(name, key), operations: requests.length },
    });
    const text = outcome.response?.returnValue?.json ?? outcome.response?.returnValue?.string;
    if (!outcome.ok || typeof text !== 'string')
      return failAll(outcome.error?.message ?? 'The entity returned nothing.');
    return JSON.parse(text) as EntityResponse;
  }
}

function parseRequest(msg: ControlMessage): EntityRequest | undefined {
  if (msg.event.EventType !== EventType.EventRaised || msg.event.Name !== 'op' || !msg.event.Input)
    return undefined;
  try {
    const req = JSON.parse(msg.event.Input) as EntityRequest;
    return typeof req.id === 'string' && typeof req.op === 'string' ? req : undefined;
  } catch {
    return undefined;
  }
}
