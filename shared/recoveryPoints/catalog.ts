/**
 * The recovery-point catalog: table `RecoveryPoints` in the target region. One partition per VM
 * (`{rg}|{vm}`, URI-encoded so any name is a valid key); RowKey is the generation and sequence
 * inverted, so the partition lists newest first and the newest point is a one-row query.
 */
import { odata, RestError, TableClient } from '@azure/data-tables';

import { TABLES } from '../storageNames';
import {
  newestFirst,
  parseRecoveryPointId,
  type RecoveryPoint,
  type RecoveryPointDisk,
  type RecoveryPointType,
} from './types';

export interface RecoveryPointCatalog {
  /** Every point of the VM, newest first. */
  list(resourceGroup: string, vm: string): Promise<RecoveryPoint[]>;
  newest(resourceGroup: string, vm: string): Promise<RecoveryPoint | undefined>;
  get(resourceGroup: string, vm: string, id: string): Promise<RecoveryPoint | undefined>;
  /** Inserts or replaces (a re-cut at the same watermark writes the same id). */
  put(point: RecoveryPoint): Promise<void>;
  /** Removes the row; gone already is fine. */
  delete(point: Pick<RecoveryPoint, 'resourceGroup' | 'vm' | 'id'>): Promise<void>;
}

interface RecoveryPointEntity {
  partitionKey: string;
  rowKey: string;
  id: string;
  type: string;
  generation: number;
  sequence: number;
  time: number;
  cutAt: number;
  disks: string;
}

const INVERT_DIGITS = String(Number.MAX_SAFE_INTEGER).length;

export function catalogPartitionKey(resourceGroup: string, vm: string): string {
  return `${encodeURIComponent(resourceGroup)}|${encodeURIComponent(vm)}`;
}

function invert(n: number): string {
  return String(Number.MAX_SAFE_INTEGER - n).padStart(INVERT_DIGITS, '0');
}

export function catalogRowKey(generation: number, sequence: number): string {
  return `${invert(generation)}-${invert(sequence)}`;
}

function toEntity(p: RecoveryPoint): RecoveryPointEntity {
  return {
    partitionKey: catalogPartitionKey(p.resourceGroup, p.vm),
    rowKey: catalogRowKey(p.generation, p.sequence),
    id: p.id,
    type: p.type,
    generation: p.generation,
    sequence: p.sequence,
    time: p.time,
    cutAt: p.cutAt,
    disks: JSON.stringify(p.disks),
  };
}

function fromEntity(resourceGroup: string, vm: string, e: RecoveryPointEntity): RecoveryPoint {
  return {
    resourceGroup,
    vm,
    id: e.id,
    type: e.type as RecoveryPointType,
    generation: Number(e.generation),
    sequence: Number(e.sequence),
    time: Number(e.time),
    cutAt: Number(e.cutAt),
    disks: JSON.parse(e.disks) as RecoveryPointDisk[],
  };
}

export class TableRecoveryPointCatalog implements RecoveryPointCatalog {
  #ready?: Promise<unknown>;

  constructor(private readonly table: TableClient) {}

  static fromConnectionString(connectionString: string): TableRecoveryPointCatalog {
    return new TableRecoveryPointCatalog(
      TableClient.fromConnectionString(connectionString, TABLES.recoveryPoints, {
        allowInsecureConnection: true,
      }),
    );
  }

  #ensure(): Promise<unknown> {
    return (this.#ready ??= this.table.createTable().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    }));
  }

  #query(resourceGroup: string, vm: string) {
    const filter = odata`PartitionKey eq ${catalogPartitionKey(resourceGroup, vm)}`;
    return this.table.listEntities<RecoveryPointEntity>({ queryOptions: { filter } });
  }

  async list(resourceGroup: string, vm: string): Promise<RecoveryPoint[]> {
    await this.#ensure();
    const out: RecoveryPoint[] = [];
    for await (const e of this.#query(resourceGroup, vm)) out.push(fromEntity(resourceGroup, vm, e));
    // Row keys already sort this way; sorting again costs nothing and survives any store.
    return out.sort(newestFirst);
  }

  async newest(resourceGroup: string, vm: string): Promise<RecoveryPoint | undefined> {
    await this.#ensure();
    for await (const page of this.#query(resourceGroup, vm).byPage({ maxPageSize: 1 })) {
      const first = page[0];
      if (first) return fromEntity(resourceGroup, vm, first);
      // An empty page with a continuation token is possible; keep reading.
    }
    return undefined;
  }

  async get(resourceGroup: string, vm: string, id: string): Promise<RecoveryPoint | undefined> {
    const parsed = parseRecoveryPointId(id);
    if (!parsed) return undefined;
    await this.#ensure();
    try {
      const e = await this.table.getEntity<RecoveryPointEntity>(
        catalogPartitionKey(resourceGroup, vm),
        catalogRowKey(parsed.generation, parsed.sequence),
      );
      return fromEntity(resourceGroup, vm, e);
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  async put(point: RecoveryPoint): Promise<void> {
    await this.#ensure();
    await this.table.upsertEntity(toEntity(point), 'Replace');
  }

  async delete(point: Pick<RecoveryPoint, 'resourceGroup' | 'vm' | 'id'>): Promise<void> {
    const parsed = parseRecoveryPointId(point.id);
    if (!parsed) return;
    await this.#ensure();
    try {
      await this.table.deleteEntity(
        catalogPartitionKey(point.resourceGroup, point.vm),
        catalogRowKey(parsed.generation, parsed.sequence),
      );
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return;
      throw err;
    }
  }
}
