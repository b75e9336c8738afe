/**
 * What a durable client can do to instances (EXT DurableClient semantics): start (409 when a
 * non-terminal instance with that id exists), status, query, raise event, terminate, suspend,
 * resume, purge, signal and read entities. Each operation writes the instance row and/or sends a
 * control message; the instance's own processing does the rest.
 */
import { TidemarkError } from '../../shared/errors';
import type { EngineContext } from './engineContext';
import { type EntityRequest, entityInstanceId } from './entityIds';
import { EventType, executionStarted, isTerminal, newEvent, type RuntimeStatus } from './history';
import { newId } from './ids';
import type { InstanceQuery, InstanceRecord } from './instanceStore';
import { historySummary, type StatusJson, toStatusJson } from './statusJson';
import { isWriteConflict } from './storageErrors';

/** Characters Azure Table keys cannot hold unescaped, refused in instance ids as the extension does. */
function isForbiddenIdChar(ch: string): boolean {
  const code = ch.charCodeAt(0);
  return '/\\#?'.includes(ch) || code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

export type OperationOutcome = 'accepted' | 'notFound' | 'gone';

export interface StatusOptions {
  showHistory?: boolean;
  showHistoryOutput?: boolean;
  showInput?: boolean;
}

export class InstanceClient {
  constructor(private readonly ctx: EngineContext) {}

  async start(
    name: string,
    instanceId: string | undefined,
    input: string | null,
    version?: string,
  ): Promise<string> {
    const fn = this.ctx.functions.get('orchestration', name);
    if (!fn) {
      throw new TidemarkError(
        'InvalidRequest',
        `The function '${name}' doesn't exist, is disabled, or is not an orchestrator function.`,
      );
    }
    const id = instanceId || newId().replace(/-/g, '');
    if (id.startsWith('@')) {
      throw new TidemarkError(
        'InvalidRequest',
        `Instance ID '${id}' starts with '@', which is reserved for entities.`,
      );
    }
    if ([...id].some(isForbiddenIdChar)) {
      throw new TidemarkError(
        'InvalidRequest',
        `Instance ID '${id}' contains characters that are not allowed.`,
      );
    }
    const existing = await this.ctx.instances.get(id);
    if (existing && !isTerminal(existing.runtimeStatus)) {
      throw new TidemarkError(
        'Conflict',
        `An Orchestration instance with the status ${existing.runtimeStatus} already exists.`,
      );
    }
    const now = this.ctx.clock.now();
    const executionId = newId();
    const record: InstanceRecord = {
      instanceId: id,
      name: fn.metadata.name,
      version: version ?? null,
      executionId,
      runtimeStatus: 'Pending',
      input,
      output: null,
      customStatus: null,
      createdTime: now,
      lastUpdatedTime: now,
      generation: 0,
    };
    try {
      if (existing?.etag) await this.ctx.instances.replace(record, existing.etag);
      else await this.ctx.instances.create(record);
    } catch (err) {
      if (isWriteConflict(err)) {
        throw new TidemarkError('Conflict', `An Orchestration instance with the ID '${id}' already exists.`);
      }
      throw err;
    }
    await this.ctx.outbox.control({
      id: newId(),
      instanceId: id,
      executionId,
      event: executionStarted(now, { name: fn.metadata.name, version, input, instanceId: id, executionId }),
    });
    return id;
  }

  async status(instanceId: string, options: StatusOptions = {}): Promise<StatusJson | undefined> {
    const record = await this.ctx.instances.get(instanceId);
    if (!record) return undefined;
    let history: Record<string, unknown>[] | undefined;
    if (options.showHistory) {
      const snapshot = await this.ctx.history.load(instanceId);
      history = historySummary(snapshot.executionId === record.executionId ? snapshot.events : [], options);
    }
    return toStatusJson(record, { showInput: options.showInput !== false, history });
  }

  async list(
    query: InstanceQuery & { showInput?: boolean },
  ): Promise<{ items: StatusJson[]; continuationToken?: string }> {
    const page = await this.ctx.instances.query(query);
    return {
      items: page.items.map((r) => toStatusJson(r, { showInput: query.showInput !== false })),
      continuationToken: page.continuationToken,
    };
  }

  async raiseEvent(instanceId: string, eventName: string, data: string | null): Promise<OperationOutcome> {
    return this.#send(instanceId, EventType.EventRaised, { Name: eventName, Input: data });
  }

  async terminate(instanceId: string, reason: string): Promise<OperationOutcome> {
    return this.#send(instanceId, EventType.ExecutionTerminated, { Input: reason });
  }

  async suspend(instanceId: string, reason: string): Promise<OperationOutcome> {
    return this.#send(instanceId, EventType.ExecutionSuspended, { Reason: reason });
  }

  async resume(instanceId: string, reason: string): Promise<OperationOutcome> {
    return this.#send(instanceId, EventType.ExecutionResumed, { Reason: reason });
  }

  /** Deletes a finished instance: history, row, large payloads. */
  async purge(instanceId: string): Promise<'purged' | 'notFound' | 'notTerminal'> {
    const record = await this.ctx.instances.get(instanceId);
    if (!record) return 'notFound';
    if (!instanceId.startsWith('@') && !isTerminal(record.runtimeStatus)) return 'notTerminal';
    await this.ctx.history.deleteInstance(instanceId);
    await this.ctx.instances.delete(instanceId);
    await this.ctx.payloads.deleteForInstance(instanceId);
    return 'purged';
  }

  async purgeBy(filter: {
    createdTimeFrom: Date;
    createdTimeTo?: Date;
    runtimeStatus?: RuntimeStatus[];
  }): Promise<number> {
    let deleted = 0;
    let continuationToken: string | undefined;
    do {
      const page = await this.ctx.instances.query({ ...filter, continuationToken, top: 100 });
      for (const r of page.items) {
        if (!filter.runtimeStatus?.length && !isTerminal(r.runtimeStatus)) continue;
        await this.ctx.history.deleteInstance(r.instanceId);
        await this.ctx.instances.delete(r.instanceId);
        await this.ctx.payloads.deleteForInstance(r.instanceId);
        deleted++;
      }
      continuationToken = page.continuationToken;
    } while (continuationToken);
    return deleted;
  }

  async signalEntity(name: string, key: string, op: string, input: string | null): Promise<void> {
    const request: EntityRequest = { op, id: newId(), signal: true, input: input ?? undefined };
    await this.ctx.outbox.control({
      id: newId(),
      instanceId: entityInstanceId(name, key),
      event: newEvent(EventType.EventRaised, this.ctx.clock.now(), {
        Name: 'op',
        Input: JSON.stringify(request),
      }),
    });
  }

  /** The entity's state as JSON text, or undefined when it does not exist. */
  async readEntity(name: string, key: string): Promise<string | undefined> {
    const record = await this.ctx.instances.get(entityInstanceId(name, key));
    if (!record?.entityExists) return undefined;
    return record.entityState ?? 'null';
  }

  async listEntities(name: string | undefined, top?: number, continuationToken?: string) {
    const prefix = name ? entityInstanceId(name, '') : '@';
    const page = await this.ctx.instances.query({
      instanceIdPrefix: prefix,
      includeEntities: true,
      top,
      continuationToken,
    });
    return {
      items: page.items
        .filter((r) => r.entityExists)
        .map((r) => ({
          entityId: { name: r.name, key: r.instanceId.slice(r.instanceId.indexOf('@', 1) + 1) },
          lastOperationTime: new Date(r.lastUpdatedTime).toISOString(),
          state: r.entityState ? (JSON.parse(r.entityState) as unknown) : null,
        })),
      continuationToken: page.continuationToken,
    };
  }

  async #send(
    instanceId: string,
    type: EventType,
    fields: Record<string, unknown>,
  ): Promise<OperationOutcome> {
    const record = await this.ctx.instances.get(instanceId);
    if (!record) return 'notFound';
    if (isTerminal(record.runtimeStatus)) return 'gone';
    await this.ctx.outbox.control({
      id: newId(),
      instanceId,
      event: newEvent(type, this.ctx.clock.now(), fields),
    });
    return 'accepted';
  }
}
