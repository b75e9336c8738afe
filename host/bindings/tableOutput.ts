/**
 * The `table` output binding (`output.table({tableName, partitionKey?, rowKey?, connection})`), as the
 * Tables extension writes out-of-process values (TablesExtensionConfigProvider, TableEntityWriter):
 * - the value is an entity object or an array of them;
 * - PartitionKey/RowKey on the entity (any casing) win over the binding's, which may use binding
 *   expressions; a missing or invalid key fails the invocation with a clear error;
 * - properties are primitives: integers are stored as Edm.Int64 (Json.NET reads them as long), other
 *   numbers as Double; null properties are left out; nested objects or arrays are refused;
 * - entities are inserted (an existing key is a conflict); an `ETag` of "*" replaces (upsert), any other
 *   ETag replaces only that version. Writes are batched per partition (≤ 100 per transaction) and the
 *   table is created when missing.
 */
import { TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';

import { TidemarkError } from '../../shared/errors';
import type { RpcBindingInfo, RpcTypedData } from '../core/rpcTypes';
import type { BindingContext } from '../plugin';
import { resolveBindingExpression } from './expressions';

const MAX_BATCH = 100;
const TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,62}$/;
const clients = new Map<string, TableClient>();

/** "Table output "name" of function "f"", for errors. */
export function bindingLabel(kind: string, binding: RpcBindingInfo, ctx: BindingContext): string {
  return `${kind} "${String(binding.name ?? 'table')}" of function "${ctx.functionName}"`;
}

/** Resolves a binding expression in one of the binding's options, or undefined when it is unset. */
export function resolveOption(
  template: unknown,
  ctx: BindingContext,
  what: string,
  bindingData: Record<string, unknown> = ctx.bindingData,
): string | undefined {
  if (template === undefined || template === null || template === '') return undefined;
  const now = new Date(ctx.services.clock.now());
  return resolveBindingExpression(String(template), bindingData, ctx.services.settings, now, what);
}

/** The table a binding names (binding expressions resolved), on the account of its connection. */
export function tableFor(
  binding: RpcBindingInfo,
  ctx: BindingContext,
  what: string,
): { client: TableClient; tableName: string } {
  const tableName = resolveOption(binding.tableName, ctx, what);
  if (!tableName) throw new TidemarkError('InvalidConfig', `${what} has no tableName.`);
  if (!TABLE_NAME.test(tableName) || tableName.toLowerCase() === 'tables') {
    throw new TidemarkError('InvalidArgument', `${what}: "${tableName}" is not a valid table name.`, {
      hint: 'Table names are 3-63 letters and digits and start with a letter.',
    });
  }
  const connection = typeof binding.connection === 'string' ? binding.connection : undefined;
  const account = ctx.services.storage.get(connection, `table binding of function "${ctx.functionName}"`);
  const key = `${account.connectionString}\n${tableName}`;
  let client = clients.get(key);
  if (!client) {
    client = TableClient.fromConnectionString(account.connectionString, tableName, {
      allowInsecureConnection: true,
    });
    clients.set(key, client);
  }
  return { client, tableName };
}

interface OutputEntity {
  entity: TableEntity;
  etag?: string;
}

export async function writeTableOutput(
  binding: RpcBindingInfo,
  data: RpcTypedData,
  ctx: BindingContext,
): Promise<void> {
  const what = bindingLabel('Table output', binding, ctx);
  const { client, tableName } = tableFor(binding, ctx, what);
  const partitionKey = resolveOption(binding.partitionKey, ctx, what);
  const rowKey = resolveOption(binding.rowKey, ctx, what);
  const values = entityValues(data, what);
  const entities = values.map((value, i) =>
    toOutputEntity(value, { partitionKey, rowKey }, values.length > 1 ? `${what}, entity ${i}` : what),
  );
  try {
    await submit(client, entities);
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    throw new TidemarkError(
      status === 409 ? 'Conflict' : status && status < 500 ? 'InvalidArgument' : 'StorageUnavailable',
      `${what}: writing to table "${tableName}" failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function entityValues(data: RpcTypedData, what: string): Record<string, unknown>[] {
  const text = data.json ?? data.string;
  let value: unknown;
  try {
    value = text === undefined || text === null ? undefined : JSON.parse(text);
  } catch {
    value = undefined;
  }
  const items = Array.isArray(value) ? value : [value];
  for (const item of items) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw new TidemarkError(
        'InvalidArgument',
        `${what}: the value must be an entity object or an array of them.`,
        {
          hint: "Return or set e.g. { PartitionKey: 'p', RowKey: 'r', name: 'x' }.",
        },
      );
    }
  }
  return items as Record<string, unknown>[];
}

export function toOutputEntity(
  value: Record<string, unknown>,
  keys: { partitionKey?: string; rowKey?: string },
  what: string,
): OutputEntity {
  const props: Record<string, unknown> = { ...value };
  const take = (name: string): unknown => {
    const key = Object.keys(props).find((k) => k.toLowerCase() === name.toLowerCase());
    if (key === undefined) return undefined;
    const v = props[key];
    delete props[key];
    return v;
  };
  const partitionKey = keyValue(take('PartitionKey') ?? keys.partitionKey, 'PartitionKey', what);
  const rowKey = keyValue(take('RowKey') ?? keys.rowKey, 'RowKey', what);
  const etag = take('odata.etag') ?? take('ETag');
  take('Timestamp');
  const entity: TableEntity = { partitionKey, rowKey };
  for (const [name, v] of Object.entries(props)) {
    if (v === null || v === undefined) continue;
    entity[name] = propertyValue(v, name, what);
  }
  return { entity, etag: typeof etag === 'string' && etag ? etag : undefined };
}

function keyValue(value: unknown, name: 'PartitionKey' | 'RowKey', what: string): string {
  if (value === undefined || value === null) {
    const option = name === 'PartitionKey' ? 'partitionKey' : 'rowKey';
    throw new TidemarkError(
      'InvalidArgument',
      `${what}: the entity has no ${name}; set ${option} on the output.table() binding or a ${name} property on the entity.`,
    );
  }
  const text = typeof value === 'string' ? value : String(value);
  // TableClientHelpers.ValidateAzureTableKeyValue
  // eslint-disable-next-line no-control-regex
  if (text.length > 1024 || /[/\\#?\u0000-\u001f\u007f-\u009f]/.test(text)) {
    throw new TidemarkError(
      'InvalidArgument',
      `${what}: the ${name} "${text}" is not valid; keys are at most 1024 characters without '/', '\\', '#', '?' or control characters.`,
    );
  }
  return text;
}

function propertyValue(value: unknown, name: string, what: string): unknown {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (Number.isInteger(value) && Math.abs(value) < 2 ** 63) return { value: String(value), type: 'Int64' };
    return { value: String(value), type: 'Double' };
  }
  throw new TidemarkError(
    'InvalidArgument',
    `${what}: property "${name}" is an object or array; entity properties hold strings, numbers and booleans (store nested data as a JSON string).`,
  );
}

async function submit(client: TableClient, entities: OutputEntity[]): Promise<void> {
  for (const batch of batches(entities)) {
    const actions = batch.map(actionFor);
    try {
      await client.submitTransaction(actions);
    } catch (err) {
      const e = err as { statusCode?: number; code?: string };
      if (e.statusCode !== 404 || !/TableNotFound|ResourceNotFound/.test(String(e.code))) throw err;
      await client.createTable();
      await client.submitTransaction(actions);
    }
  }
}

function actionFor({ entity, etag }: OutputEntity): TransactionAction {
  if (etag === undefined) return ['create', entity];
  if (etag === '*') return ['upsert', entity, 'Replace'];
  return ['update', entity, 'Replace', { etag }];
}

/** Per partition, in order; a repeated RowKey or a full batch starts the next transaction. */
function batches(entities: OutputEntity[]): OutputEntity[][] {
  const open = new Map<string, OutputEntity[]>();
  const done: OutputEntity[][] = [];
  for (const e of entities) {
    let batch = open.get(e.entity.partitionKey);
    if (batch && (batch.length >= MAX_BATCH || batch.some((b) => b.entity.rowKey === e.entity.rowKey))) {
      done.push(batch);
      batch = undefined;
    }
    if (!batch) open.set(e.entity.partitionKey, (batch = []));
    batch.push(e);
  }
  return [...done, ...open.values()];
}
