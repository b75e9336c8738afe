/**
 * JSON records in an Azure table with ETag-conditional writes: the plumbing under the local fabric
 * store. A record is one entity: its keys, `kind`, `name`, and the JSON in `data` (continued in
 * `data1`, `data2`… past a property's 64 KiB, up to the entity's 1 MiB).
 */
import { odata, RestError, type TableClient, type TableEntityResult } from '@azure/data-tables';

import { TidemarkError } from '../errors';

/** Characters per data property: a string property holds at most 64 KiB of UTF-16. */
const CHUNK = 30_000;
/** 15 properties of up to 60 KB stay under the entity's 1 MiB. */
const MAX_CHUNKS = 15;

export interface RecordKey {
  partitionKey: string;
  rowKey: string;
}

export interface StoredRecord<T> {
  value: T;
  etag: string;
}

type Entity = RecordKey & Record<string, unknown>;

function encode(key: RecordKey, kind: string, name: string, value: unknown): Entity {
  const json = JSON.stringify(value);
  const chunks = Math.max(1, Math.ceil(json.length / CHUNK));
  if (chunks > MAX_CHUNKS) {
    throw new TidemarkError('InvalidArgument', `The ${kind} record ${name} is too large to store.`);
  }
  const entity: Entity = { ...key, kind, name };
  for (let i = 0; i < chunks; i++)
    entity[i === 0 ? 'data' : `data${i}`] = json.slice(i * CHUNK, (i + 1) * CHUNK);
  return entity;
}

function decode<T>(entity: TableEntityResult<Record<string, unknown>>): StoredRecord<T> {
  let json = '';
  for (let i = 0; ; i++) {
    const part = entity[i === 0 ? 'data' : `data${i}`];
    if (typeof part !== 'string') break;
    json += part;
  }
  return { value: JSON.parse(json) as T, etag: entity.etag };
}

function status(err: unknown): number | undefined {
  return err instanceof RestError ? err.statusCode : undefined;
}

/** Records of one table, created on first use. */
export class TableRecords {
  #ready?: Promise<unknown>;

  constructor(readonly table: TableClient) {}

  #ensure(): Promise<unknown> {
    return (this.#ready ??= this.table.createTable().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    }));
  }

  async get<T>(key: RecordKey): Promise<StoredRecord<T> | undefined> {
    await this.#ensure();
    try {
      return decode<T>(await this.table.getEntity(key.partitionKey, key.rowKey));
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw err;
    }
  }

  /** Records whose row key starts with `rowPrefix` (exactly `rowKey` when given), in one partition or all. */
  async list<T>(query: {
    partitionKey?: string;
    rowPrefix?: string;
    rowKey?: string;
  }): Promise<StoredRecord<T>[]> {
    await this.#ensure();
    const clauses: string[] = [];
    if (query.partitionKey !== undefined) clauses.push(odata`PartitionKey eq ${query.partitionKey}`);
    if (query.rowKey !== undefined) clauses.push(odata`RowKey eq ${query.rowKey}`);
    if (query.rowPrefix !== undefined) {
      const end =
        query.rowPrefix.slice(0, -1) +
        String.fromCharCode(query.rowPrefix.charCodeAt(query.rowPrefix.length - 1) + 1);
      clauses.push(odata`RowKey ge ${query.rowPrefix}`, odata`RowKey lt ${end}`);
    }
    const filter = clauses.length ? clauses.join(' and ') : undefined;
    const out: StoredRecord<T>[] = [];
    for await (const entity of this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter },
    })) {
      out.push(decode<T>(entity));
    }
    return out;
  }

  /**
   * Creates the record when `etag` is undefined (Conflict if one exists), replaces the version `etag`
   * names (Conflict if it changed, NotFound if it is gone), or with `'*'` writes it whatever is there.
   * Returns the new ETag.
   */
  async put(
    key: RecordKey,
    kind: string,
    name: string,
    value: unknown,
    etag: string | undefined,
  ): Promise<string> {
    await this.#ensure();
    const entity = encode(key, kind, name, value);
    try {
      if (etag === undefined) return (await this.table.createEntity(entity)).etag ?? '';
      if (etag === '*') return (await this.table.upsertEntity(entity, 'Replace')).etag ?? '';
      return (await this.table.updateEntity(entity, 'Replace', { etag })).etag ?? '';
    } catch (err) {
      const code = status(err);
      if (code === 409 && etag === undefined) {
        throw new TidemarkError('Conflict', `The ${kind} ${name} already exists.`, {
          cause: err,
          hint: 'Read it and update it with its etag instead.',
          details: { kind, name },
        });
      }
      if (code === 412) throw changedMeanwhile(kind, name, err);
      if (code === 404) {
        throw new TidemarkError('NotFound', `The ${kind} ${name} does not exist (any more).`, {
          cause: err,
          details: { kind, name },
        });
      }
      throw err;
    }
  }

  /** Deletes the record (only the version `etag` names, when given); false when there was none. */
  async delete(key: RecordKey, kind: string, name: string, etag?: string): Promise<boolean> {
    await this.#ensure();
    try {
      await this.table.deleteEntity(key.partitionKey, key.rowKey, { etag: etag ?? '*' });
      return true;
    } catch (err) {
      if (status(err) === 404) return false;
      if (status(err) === 412) throw changedMeanwhile(kind, name, err);
      throw err;
    }
  }
}

function changedMeanwhile(kind: string, name: string, cause: unknown): TidemarkError {
  return new TidemarkError('Conflict', `The ${kind} ${name} changed meanwhile.`, {
    cause,
    retryable: true,
    hint: 'Read it again and retry.',
    details: { kind, name },
  });
}
