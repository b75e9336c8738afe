/**
 * The `table` input binding (`input.table({tableName, partitionKey?, rowKey?, filter?, take?})`), as
 * the Tables extension binds it for out-of-process workers (TablesExtensionConfigProvider):
 * - partitionKey and rowKey both set: that one entity, or nothing (undefined) when it doesn't exist;
 * - otherwise an array: `PartitionKey eq '<pk>'` (when set) joined with `and` to `filter`, at most
 *   `take` entities when take > 0.
 * Entities arrive as the host's JSON: `PartitionKey`, `RowKey`, `Timestamp` (ISO), `odata.etag` and the
 * properties (Int64 as numbers, DateTime as ISO strings, binary as Base64, GUIDs as strings). Binding
 * expressions in `filter` have single quotes in their values doubled (ODataFilterResolutionPolicy).
 * A missing table reads as no entity / an empty array.
 */
import { odata, type TableEntityResult } from '@azure/data-tables';

import { TidemarkError } from '../../shared/errors';
import type { RpcBindingInfo, RpcTypedData } from '../core/rpcTypes';
import type { BindingContext } from '../plugin';
import { bindingLabel, resolveOption, tableFor } from './tableOutput';

export async function readTableInput(
  binding: RpcBindingInfo,
  ctx: BindingContext,
): Promise<RpcTypedData | null> {
  const what = bindingLabel('Table input', binding, ctx);
  const { client } = tableFor(binding, ctx, what);
  const partitionKey = resolveOption(binding.partitionKey, ctx, what);
  const rowKey = resolveOption(binding.rowKey, ctx, what);

  if (partitionKey !== undefined && rowKey !== undefined) {
    try {
      const entity = await client.getEntity(partitionKey, rowKey);
      return { json: JSON.stringify(toHostJson(entity)) };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw err;
    }
  }

  const filter = resolveOption(binding.filter, ctx, what, odataEscaped(ctx.bindingData));
  const pkFilter = partitionKey === undefined ? undefined : odata`PartitionKey eq ${partitionKey}`;
  const query = pkFilter && filter ? `${pkFilter} and ${filter}` : (pkFilter ?? filter);
  const take = takeOf(binding.take, what);
  const entities: Record<string, unknown>[] = [];
  try {
    const pages = client.listEntities({ queryOptions: query ? { filter: query } : {} });
    for await (const entity of pages) {
      entities.push(toHostJson(entity));
      if (take > 0 && entities.length >= take) break;
    }
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
  return { json: JSON.stringify(entities) };
}

function takeOf(value: unknown, what: string): number {
  if (value === undefined || value === null || value === '') return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new TidemarkError('InvalidConfig', `${what}: take must be a whole number, not "${String(value)}".`);
  }
  return n;
}

const KEY_NAMES: Record<string, string> = {
  partitionKey: 'PartitionKey',
  rowKey: 'RowKey',
  timestamp: 'Timestamp',
  etag: 'odata.etag',
};

/** An entity as the real host hands it to the worker (JToken.FromObject of a TableEntity). */
export function toHostJson(entity: TableEntityResult<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entity)) {
    if (key.startsWith('odata.') || key.includes('@odata.')) continue; // service metadata, not properties
    out[KEY_NAMES[key] ?? key] = plain(value);
  }
  return out;
}

function plain(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value !== null && typeof value === 'object' && 'value' in value)
    return (value as { value: unknown }).value;
  return value;
}

function odataEscaped(data: unknown): Record<string, unknown> {
  const escape = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replaceAll("'", "''");
    if (Array.isArray(v)) return v.map(escape);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, escape(x)]));
    }
    return v;
  };
  return escape(data) as Record<string, unknown>;
}
