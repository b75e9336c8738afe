/**
 * Durable timers waiting to fire, in `{Hub}Timers`: PartitionKey = the control-queue partition,
 * RowKey = due time (ms, zero-padded) + instance + timer id, so the due rows of a partition are one
 * range query. Rows carry the TimerFired control message to send. Timers of any length work, and
 * they fire on the engine clock.
 */
import { odata, type TableClient } from '@azure/data-tables';

import type { ControlMessage } from './messages';
import { isNotFound } from './storageErrors';
import { escapeKey } from './tableKeys';

export interface TimerRow {
  partition: number;
  rowKey: string;
  fireAt: number;
  message: ControlMessage;
}

const partitionKey = (partition: number): string => String(partition).padStart(2, '0');
const dueKey = (ms: number): string => String(Math.max(0, Math.floor(ms))).padStart(15, '0');

export function timerRowKey(
  fireAt: number,
  instanceId: string,
  executionId: string,
  timerId: number,
): string {
  return `${dueKey(fireAt)}_${escapeKey(instanceId)}_${executionId}_${timerId}`;
}

export class TimerStore {
  constructor(private readonly table: TableClient) {}

  async put(row: TimerRow): Promise<void> {
    await this.table.upsertEntity(
      {
        partitionKey: partitionKey(row.partition),
        rowKey: row.rowKey,
        FireAt: new Date(row.fireAt),
        Message: JSON.stringify(row.message),
      },
      'Replace',
    );
  }

  async remove(partition: number, rowKey: string): Promise<void> {
    try {
      await this.table.deleteEntity(partitionKey(partition), rowKey);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Timers of a partition due at or before `now`. */
  async due(partition: number, now: number, limit = 100): Promise<TimerRow[]> {
    const pk = partitionKey(partition);
    const filter = odata`PartitionKey eq ${pk} and RowKey lt ${dueKey(now + 1)}`;
    const out: TimerRow[] = [];
    for await (const row of this.table.listEntities<{ FireAt: Date; Message: string }>({
      queryOptions: { filter },
    })) {
      out.push({
        partition,
        rowKey: row.rowKey as string,
        fireAt: new Date(row.FireAt).getTime(),
        message: JSON.parse(row.Message) as ControlMessage,
      });
      if (out.length >= limit) break;
    }
    return out;
  }

  /** When the earliest timer of a partition is due, if any. */
  async next(partition: number): Promise<number | undefined> {
    const pages = this.table
      .listEntities({
        queryOptions: { filter: odata`PartitionKey eq ${partitionKey(partition)}`, select: ['RowKey'] },
      })
      .byPage({ maxPageSize: 1 });
    const first = await pages.next();
    const row = first.done ? undefined : first.value[0];
    return row ? Number(String(row.rowKey).slice(0, 15)) : undefined;
  }
}
