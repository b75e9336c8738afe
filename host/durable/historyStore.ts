/**
 * The `{Hub}History` table. One partition per instance (escaped id); one row per event with RowKey
 * = sequence number as X16, the event's properties as columns (EventType by name, the event time in
 * `_Timestamp`) and the engine's bookkeeping in `Meta`; plus a `sentinel` row holding the current
 * ExecutionId and how many rows are committed. Every commit is conditional on the sentinel's ETag,
 * so two hosts can never both commit an episode; rows beyond the committed count are ignored (they
 * are the leftovers of an interrupted commit and get overwritten).
 */
import type { TableClient, TransactionAction } from '@azure/data-tables';

import { EventType, type HistoryEvent } from './history';
import type { LargePayloads } from './largePayloads';
import { escapeKey, odataString, sequenceRowKey } from './tableKeys';

/** The engine's own facts about an event; never shown to the orchestrator. */
export interface EventMeta {
  /** The control message that delivered this event (de-duplication). */
  messageId?: string;
  /** Random id of the episode that scheduled this task; completions must carry it back. */
  token?: string;
  /** Retry policy of a retryable activity / sub-orchestration, and which attempt this is. */
  retry?: RetryPolicyJson;
  attempt?: number;
  /** For a retry timer: the EventId of the failed attempt it follows. */
  retryTimerFor?: number;
  /** Index of the action leaf that produced this event. */
  leaf?: number;
  /** Sub-orchestration: whether the caller named the child instance. */
  explicitInstanceId?: boolean;
  /** ExecutionStarted of a child: the parent's token for its task. */
  parentToken?: string;
  /** ContinueAsNew: the execution that follows. */
  nextExecutionId?: string;
}

export interface RetryPolicyJson {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

export interface StoredEvent {
  event: HistoryEvent;
  meta: EventMeta;
}

export interface HistorySnapshot {
  executionId?: string;
  /** The sentinel's ETag; undefined when the instance has no history yet. */
  etag?: string;
  events: StoredEvent[];
  processedActions: number;
  /** Messages consumed by the previous execution's last episodes (after continue-as-new). */
  recentMessageIds: string[];
  /**
   * The execution's custom status as of this commit (JSON), so an instance row that lags the history
   * after a crash is repaired with it; undefined when never set or too big to keep here.
   */
  customStatus?: string;
}

export interface HistoryCommit {
  etag?: string;
  executionId: string;
  /** Sequence number of the first new event (0 for a new execution). */
  startSequence: number;
  events: StoredEvent[];
  processedActions: number;
  recentMessageIds: string[];
  customStatus?: string;
}

const SENTINEL = 'sentinel';
const MAX_BATCH = 100;
const MAX_BATCH_BYTES = 2 * 1024 * 1024;
/** A table string property holds 64 KiB of UTF-16; a bigger custom status is left to the row. */
const MAX_SENTINEL_STATUS_CHARS = 30_000;
const JSON_COLUMNS = ['OrchestrationInstance', 'ParentInstance', 'FailureDetails', 'Tags'] as const;
const PAYLOAD_COLUMNS = ['Input', 'Result', 'Details', 'Reason', 'FailureDetails'] as const;
const RESULT_REQUIRED = [EventType.TaskCompleted, EventType.SubOrchestrationInstanceCompleted];

type Row = Record<string, unknown> & { partitionKey: string; rowKey: string };

export class HistoryStore {
  constructor(
    private readonly table: TableClient,
    private readonly payloads: LargePayloads,
  ) {}

  async load(instanceId: string): Promise<HistorySnapshot> {
    const pk = escapeKey(instanceId);
    const rows: Record<string, unknown>[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter: `PartitionKey eq ${odataString(pk)}` },
    })) {
      rows.push(row);
    }
    const sentinel = rows.find((r) => r.rowKey === SENTINEL);
    if (!sentinel) return { events: [], processedActions: 0, recentMessageIds: [] };
    const executionId = String(sentinel.ExecutionId ?? '');
    const count = Number(sentinel.HistoryCount ?? 0);
    const eventRows = rows
      .filter((r) => r.rowKey !== SENTINEL && r.ExecutionId === executionId)
      .filter((r) => parseInt(String(r.rowKey), 16) < count)
      .sort((a, b) => String(a.rowKey).localeCompare(String(b.rowKey)));
    const events = await Promise.all(eventRows.map((r) => this.fromRow(r)));
    return {
      executionId,
      etag: String(sentinel.etag ?? ''),
      events,
      processedActions: Number(sentinel.ProcessedActions ?? 0),
      recentMessageIds: JSON.parse(String(sentinel.RecentMessageIds || '[]')) as string[],
      customStatus: typeof sentinel.CustomStatus === 'string' ? sentinel.CustomStatus : undefined,
    };
  }

  /** Appends events and moves the sentinel; rejects with a 409/412 error when the ETag is stale. */
  async commit(instanceId: string, c: HistoryCommit, now: number): Promise<string> {
    const pk = escapeKey(instanceId);
    const rows = await Promise.all(
      c.events.map((e, i) => this.toRow(instanceId, pk, c.executionId, c.startSequence + i, e)),
    );
    const sentinelRow = (count: number): Row => ({
      partitionKey: pk,
      rowKey: SENTINEL,
      ExecutionId: c.executionId,
      HistoryCount: count,
      ProcessedActions: c.processedActions,
      RecentMessageIds: JSON.stringify(c.recentMessageIds),
      ...(c.customStatus !== undefined && c.customStatus.length <= MAX_SENTINEL_STATUS_CHARS
        ? { CustomStatus: c.customStatus }
        : {}),
      CheckpointCompletedTimestamp: new Date(now),
    });
    const sentinelAction = (row: Row, etag: string | undefined): TransactionAction =>
      etag ? ['update', row, 'Replace', { etag }] : ['create', row];
    const newCount = c.startSequence + rows.length;
    const batches = chunk(rows);

    if (batches.length <= 1 && rows.length < MAX_BATCH) {
      const actions: TransactionAction[] = rows.map((r) => ['upsert', r, 'Replace']);
      actions.push(sentinelAction(sentinelRow(newCount), c.etag));
      const res = await this.table.submitTransaction(actions);
      // The sentinel is the last action; updates come back without a row key.
      return res.subResponses[res.subResponses.length - 1]?.etag ?? '';
    }
    // Too big for one transaction: claim the sentinel first so no other writer touches these rows.
    const claimRow = sentinelRow(c.etag ? c.startSequence : 0);
    const claimed = c.etag
      ? await this.table.updateEntity(claimRow, 'Replace', { etag: c.etag })
      : await this.table.createEntity(claimRow);
    for (const batch of batches) {
      await this.table.submitTransaction(batch.map((r): TransactionAction => ['upsert', r, 'Replace']));
    }
    const done = await this.table.updateEntity(sentinelRow(newCount), 'Replace', { etag: claimed.etag });
    return done.etag ?? '';
  }

  async deleteInstance(instanceId: string): Promise<void> {
    const pk = escapeKey(instanceId);
    const keys: string[] = [];
    for await (const row of this.table.listEntities({
      queryOptions: { filter: `PartitionKey eq ${odataString(pk)}`, select: ['RowKey'] },
    })) {
      keys.push(String(row.rowKey));
    }
    for (let i = 0; i < keys.length; i += MAX_BATCH) {
      await this.table.submitTransaction(
        keys
          .slice(i, i + MAX_BATCH)
          .map((rk): TransactionAction => ['delete', { partitionKey: pk, rowKey: rk }]),
      );
    }
  }

  private async toRow(
    instanceId: string,
    pk: string,
    executionId: string,
    sequence: number,
    stored: StoredEvent,
  ): Promise<Row> {
    const { EventType: type, IsPlayed: _played, Timestamp, ...fields } = stored.event;
    const row: Row = {
      partitionKey: pk,
      rowKey: sequenceRowKey(sequence),
      ExecutionId: executionId,
      EventType: EventType[type],
      _Timestamp: Timestamp,
      Meta: JSON.stringify(stored.meta),
    };
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined || value === null) continue;
      row[key] = (JSON_COLUMNS as readonly string[]).includes(key) ? JSON.stringify(value) : value;
    }
    await this.payloads.packFields(
      instanceId,
      row,
      PAYLOAD_COLUMNS.filter((c) => c in row),
    );
    return row;
  }

  private async fromRow(row: Record<string, unknown>): Promise<StoredEvent> {
    await this.payloads.unpackFields(row, PAYLOAD_COLUMNS);
    const type = EventType[String(row.EventType) as keyof typeof EventType];
    const event: HistoryEvent = {
      EventType: type,
      EventId: -1,
      IsPlayed: true,
      Timestamp: String(row._Timestamp),
    };
    const skip = new Set([
      'partitionKey',
      'rowKey',
      'etag',
      'timestamp',
      'ExecutionId',
      'EventType',
      '_Timestamp',
      'Meta',
    ]);
    const target = event as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(row)) {
      if (skip.has(key) || key.endsWith('BlobName') || key.startsWith('odata')) continue;
      target[key] = (JSON_COLUMNS as readonly string[]).includes(key) ? JSON.parse(String(value)) : value;
    }
    if (RESULT_REQUIRED.includes(type) && event.Result === undefined) event.Result = null;
    return { event, meta: JSON.parse(String(row.Meta || '{}')) as EventMeta };
  }
}

function chunk(rows: Row[]): Row[][] {
  const batches: Row[][] = [];
  let current: Row[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = JSON.stringify(row).length * 2;
    if (current.length && (current.length >= MAX_BATCH || bytes + size > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += size;
  }
  if (current.length) batches.push(current);
  return batches;
}
