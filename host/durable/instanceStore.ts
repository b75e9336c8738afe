/**
 * The `{Hub}Instances` table: one row per orchestration or entity instance (PartitionKey = escaped
 * instance id, RowKey ""), holding what status queries need (DTFX OrchestrationInstanceStatus) and,
 * for entities, their state.
 */
import { odata, type TableClient, type TableEntityResult } from '@azure/data-tables';

import type { RuntimeStatus } from './history';
import type { LargePayloads } from './largePayloads';
import { isNotFound } from './storageErrors';
import { escapeKey, unescapeKey } from './tableKeys';

export interface InstanceRecord {
  instanceId: string;
  name: string;
  version?: string | null;
  executionId: string;
  runtimeStatus: RuntimeStatus;
  /** JSON text, or null. */
  input: string | null;
  output: string | null;
  customStatus: string | null;
  createdTime: number;
  lastUpdatedTime: number;
  completedTime?: number | null;
  generation: number;
  parentInstanceId?: string | null;
  entityExists?: boolean;
  /** Entity state as JSON text. */
  entityState?: string | null;
  /** Request ids of the entity's last operations, for de-duplication. */
  entityRecentIds?: string[];
  etag?: string;
}

export interface InstanceQuery {
  createdTimeFrom?: Date;
  createdTimeTo?: Date;
  runtimeStatus?: RuntimeStatus[];
  instanceIdPrefix?: string;
  top?: number;
  continuationToken?: string;
  includeEntities?: boolean;
}

const PAYLOAD_FIELDS = ['Input', 'Output', 'CustomStatus', 'EntityState'] as const;

type Row = Record<string, unknown> & { partitionKey: string; rowKey: string };

export class InstanceStore {
  constructor(
    private readonly table: TableClient,
    private readonly payloads: LargePayloads,
    private readonly hubName: string,
  ) {}

  async get(instanceId: string): Promise<InstanceRecord | undefined> {
    try {
      const row = await this.table.getEntity<Record<string, unknown>>(escapeKey(instanceId), '');
      return await this.fromRow(row);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Creates the row; fails with 409 when it exists. Returns the new ETag. */
  async create(record: InstanceRecord): Promise<string> {
    const res = await this.table.createEntity(await this.toRow(record));
    return res.etag ?? '';
  }

  /** Replaces the row, conditionally on `etag` when given (412 when it changed). */
  async replace(record: InstanceRecord, etag?: string): Promise<string> {
    const row = await this.toRow(record);
    const res = etag
      ? await this.table.updateEntity(row, 'Replace', { etag })
      : await this.table.upsertEntity(row, 'Replace');
    return res.etag ?? '';
  }

  async delete(instanceId: string): Promise<boolean> {
    try {
      await this.table.deleteEntity(escapeKey(instanceId), '');
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async query(q: InstanceQuery): Promise<{ items: InstanceRecord[]; continuationToken?: string }> {
    const filters: string[] = [`RowKey eq ''`];
    if (q.createdTimeFrom) filters.push(odata`CreatedTime ge ${q.createdTimeFrom}`);
    if (q.createdTimeTo) filters.push(odata`CreatedTime le ${q.createdTimeTo}`);
    if (q.runtimeStatus?.length) {
      filters.push(`(${q.runtimeStatus.map((s) => odata`RuntimeStatus eq ${s}`).join(' or ')})`);
    }
    if (q.instanceIdPrefix) {
      const from = escapeKey(q.instanceIdPrefix);
      filters.push(odata`PartitionKey ge ${from} and PartitionKey lt ${from + '\uffff'}`);
    }
    if (!q.includeEntities) filters.push(`(PartitionKey lt '@' or PartitionKey ge 'A')`);
    const pages = this.table
      .listEntities<Record<string, unknown>>({ queryOptions: { filter: filters.join(' and ') } })
      .byPage({ maxPageSize: q.top && q.top > 0 ? q.top : 1000, continuationToken: q.continuationToken });
    const first = await pages.next();
    if (first.done || !first.value) return { items: [] };
    const page = first.value as TableEntityResult<Record<string, unknown>>[] & { continuationToken?: string };
    const items = await Promise.all(page.map((row) => this.fromRow(row)));
    return { items, continuationToken: page.continuationToken || undefined };
  }

  private async toRow(r: InstanceRecord): Promise<Row> {
    const row: Row = {
      partitionKey: escapeKey(r.instanceId),
      rowKey: '',
      InstanceId: r.instanceId,
      Name: r.name,
      Version: r.version ?? '',
      ExecutionId: r.executionId,
      RuntimeStatus: r.runtimeStatus,
      Input: r.input ?? '',
      Output: r.output ?? '',
      CustomStatus: r.customStatus ?? '',
      CreatedTime: new Date(r.createdTime),
      LastUpdatedTime: new Date(r.lastUpdatedTime),
      CompletedTime: r.completedTime ? new Date(r.completedTime) : new Date(0),
      Generation: r.generation,
      TaskHubName: this.hubName,
      ParentInstanceId: r.parentInstanceId ?? '',
      HasInput: r.input !== null,
      HasOutput: r.output !== null,
      HasCustomStatus: r.customStatus !== null,
    };
    if (r.entityExists !== undefined) {
      row.EntityExists = r.entityExists;
      row.EntityState = r.entityState ?? '';
      row.EntityRecentIds = JSON.stringify(r.entityRecentIds ?? []);
    }
    await this.payloads.packFields(r.instanceId, row, PAYLOAD_FIELDS);
    return row;
  }

  private async fromRow(row: Record<string, unknown>): Promise<InstanceRecord> {
    await this.payloads.unpackFields(row, PAYLOAD_FIELDS);
    const str = (k: string): string => (typeof row[k] === 'string' ? (row[k] as string) : '');
    const time = (k: string): number => {
      const v = row[k];
      return v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : 0;
    };
    const instanceId = str('InstanceId') || unescapeKey(String(row.partitionKey));
    const record: InstanceRecord = {
      instanceId,
      name: str('Name'),
      version: str('Version') || null,
      executionId: str('ExecutionId'),
      runtimeStatus: (str('RuntimeStatus') || 'Pending') as RuntimeStatus,
      input: row.HasInput === false ? null : str('Input') || null,
      output: row.HasOutput === false ? null : str('Output') || null,
      customStatus: row.HasCustomStatus === false ? null : str('CustomStatus') || null,
      createdTime: time('CreatedTime'),
      lastUpdatedTime: time('LastUpdatedTime'),
      completedTime: time('CompletedTime') || null,
      generation: typeof row.Generation === 'number' ? row.Generation : 0,
      parentInstanceId: str('ParentInstanceId') || null,
      etag: typeof row.etag === 'string' ? row.etag : undefined,
    };
    if (typeof row.EntityExists === 'boolean') {
      record.entityExists = row.EntityExists;
      record.entityState = str('EntityState') || null;
      record.entityRecentIds = JSON.parse(str('EntityRecentIds') || '[]') as string[];
    }
    return record;
  }
}
