/**
 * One record per alert id in the target region's `Alerts` table, so an alert fails VMs over once
 * however often Azure Monitor posts it. The request that inserts the record (insert-if-absent: the
 * table refuses a second insert of the same key) is the one that starts jobs; it then records what
 * it started. Row key: SHA-256 of the lower-cased alert id (alert ids are ARM ids, whose `/` a table
 * key can't hold); the id itself is kept in a column.
 */
import crypto from 'node:crypto';

import { RestError, TableClient } from '@azure/data-tables';

import { TidemarkError } from '../errors';
import { TABLES } from '../storageNames';
import type { AlertVm, SkippedEntry } from './mapping';

export interface StartedJob {
  vm: AlertVm;
  jobId: string;
}

export interface AlertDecision {
  jobs: StartedJob[];
  skipped: SkippedEntry[];
}

export interface AlertRecord {
  alertId: string;
  /** Starting: the winner is starting jobs; Done: `decision` is final. */
  state: 'Starting' | 'Done';
  receivedAt: number;
  updatedAt: number;
  alertRule?: string;
  monitoringService: string;
  /** The recovery-point choice, as describeChoice writes it. */
  recoveryPoint: string;
  decision?: AlertDecision;
  etag?: string;
}

export interface AlertRecordStore {
  /** Inserts `record` unless one exists for its alert id: `won` says which happened; `record` is the stored one. */
  claim(record: AlertRecord): Promise<{ won: boolean; record: AlertRecord }>;
  get(alertId: string): Promise<AlertRecord | undefined>;
  /** Replaces the record if its ETag is still `record.etag`; Conflict otherwise. */
  update(record: AlertRecord, patch: Partial<Omit<AlertRecord, 'alertId' | 'etag'>>): Promise<AlertRecord>;
  /** Deletes the record if unchanged since read (so a retry of the alert can start over). */
  release(record: AlertRecord): Promise<void>;
}

const PARTITION = 'alert';

export function alertRowKey(alertId: string): string {
  return crypto.createHash('sha256').update(alertId.trim().toLowerCase(), 'utf8').digest('hex');
}

interface AlertEntity {
  partitionKey: string;
  rowKey: string;
  alertId: string;
  state: string;
  receivedAt: number;
  updatedAt: number;
  alertRule?: string;
  monitoringService: string;
  recoveryPoint: string;
  decision?: string;
}

function toEntity(r: AlertRecord): AlertEntity {
  return {
    partitionKey: PARTITION,
    rowKey: alertRowKey(r.alertId),
    alertId: r.alertId,
    state: r.state,
    receivedAt: r.receivedAt,
    updatedAt: r.updatedAt,
    ...(r.alertRule === undefined ? {} : { alertRule: r.alertRule }),
    monitoringService: r.monitoringService,
    recoveryPoint: r.recoveryPoint,
    ...(r.decision === undefined ? {} : { decision: JSON.stringify(r.decision) }),
  };
}

function fromEntity(e: AlertEntity & { etag?: string }): AlertRecord {
  return {
    alertId: e.alertId,
    state: e.state === 'Done' ? 'Done' : 'Starting',
    receivedAt: Number(e.receivedAt),
    updatedAt: Number(e.updatedAt),
    ...(e.alertRule ? { alertRule: e.alertRule } : {}),
    monitoringService: e.monitoringService,
    recoveryPoint: e.recoveryPoint,
    ...(e.decision ? { decision: JSON.parse(e.decision) as AlertDecision } : {}),
    etag: e.etag,
  };
}

const statusOf = (err: unknown): number | undefined =>
  err instanceof RestError ? err.statusCode : undefined;

export class TableAlertRecordStore implements AlertRecordStore {
  #ready?: Promise<unknown>;

  constructor(private readonly table: TableClient) {}

  static fromConnectionString(connectionString: string): TableAlertRecordStore {
    return new TableAlertRecordStore(
      TableClient.fromConnectionString(connectionString, TABLES.alerts, { allowInsecureConnection: true }),
    );
  }

  #ensure(): Promise<unknown> {
    return (this.#ready ??= this.table.createTable().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    }));
  }

  async claim(record: AlertRecord): Promise<{ won: boolean; record: AlertRecord }> {
    await this.#ensure();
    try {
      const res = await this.table.createEntity(toEntity(record));
      return { won: true, record: { ...record, etag: res.etag } };
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
    }
    const existing = await this.get(record.alertId);
    // Deleted between our insert and read (a release): the caller treats it as taken, which is safe.
    return { won: false, record: existing ?? record };
  }

  async get(alertId: string): Promise<AlertRecord | undefined> {
    await this.#ensure();
    try {
      return fromEntity(await this.table.getEntity<AlertEntity>(PARTITION, alertRowKey(alertId)));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async update(
    record: AlertRecord,
    patch: Partial<Omit<AlertRecord, 'alertId' | 'etag'>>,
  ): Promise<AlertRecord> {
    await this.#ensure();
    const next: AlertRecord = { ...record, ...patch };
    try {
      const res = await this.table.updateEntity(toEntity(next), 'Replace', { etag: record.etag ?? '*' });
      return { ...next, etag: res.etag };
    } catch (err) {
      const status = statusOf(err);
      if (status === 412 || status === 404) {
        throw new TidemarkError('Conflict', `The record of alert ${record.alertId} changed meanwhile.`, {
          cause: err,
          retryable: true,
        });
      }
      throw err;
    }
  }

  async release(record: AlertRecord): Promise<void> {
    await this.#ensure();
    try {
      await this.table.deleteEntity(PARTITION, alertRowKey(record.alertId), { etag: record.etag ?? '*' });
    } catch (err) {
      const status = statusOf(err);
      if (status !== 404 && status !== 412) throw err;
    }
  }
}
