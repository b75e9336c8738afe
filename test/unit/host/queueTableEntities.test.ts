/** Entity conversion of the table bindings that ship with the queue plugin. */
import { describe, expect, it } from 'vitest';

import { toHostJson } from '../../../host/bindings/tableInput';
import { toOutputEntity } from '../../../host/bindings/tableOutput';
import { isTidemarkError } from '../../../shared/errors';

describe('table output entities', () => {
  it('takes keys from the entity (any casing) before the binding, and types properties like Json.NET', () => {
    const { entity, etag } = toOutputEntity(
      { partitionkey: 'p', rowKey: 7, name: 'n', big: 2 ** 40, ratio: 1.5, ok: false, gone: null },
      { partitionKey: 'bound', rowKey: 'bound' },
      'out',
    );
    expect(etag).toBeUndefined();
    expect(entity).toEqual({
      partitionKey: 'p',
      rowKey: '7',
      name: 'n',
      big: { value: String(2 ** 40), type: 'Int64' },
      ratio: { value: '1.5', type: 'Double' },
      ok: false,
    });
  });

  it('falls back to the binding keys and reads ETag', () => {
    const { entity, etag } = toOutputEntity(
      { ETag: '*', v: 'x' },
      { partitionKey: 'pk', rowKey: 'rk' },
      'out',
    );
    expect(entity).toEqual({ partitionKey: 'pk', rowKey: 'rk', v: 'x' });
    expect(etag).toBe('*');
  });

  it.each([
    [{ RowKey: 'r' }, {}, /has no PartitionKey; set partitionKey on the output\.table\(\) binding/],
    [{ PartitionKey: 'p' }, {}, /has no RowKey/],
    [{ PartitionKey: 'a/b', RowKey: 'r' }, {}, /PartitionKey "a\/b" is not valid/],
    [{ PartitionKey: 'p', RowKey: 'r', nested: { a: 1 } }, {}, /property "nested" is an object or array/],
  ])('refuses %j', (value, keys, message) => {
    let error: unknown;
    try {
      toOutputEntity(value as Record<string, unknown>, keys, 'Table output "t"');
    } catch (err) {
      error = err;
    }
    expect(isTidemarkError(error, 'InvalidArgument')).toBe(true);
    expect((error as Error).message).toMatch(message);
  });
});

describe('table input entities', () => {
  it('looks like the host JSON of a TableEntity', () => {
    const json = toHostJson({
      partitionKey: 'p',
      rowKey: 'r',
      etag: 'W/"1"',
      timestamp: '2026-01-01T00:00:00.000Z',
      'odata.metadata': 'http://x/$metadata',
      count: BigInt(3),
      huge: BigInt('9007199254740993'),
      when: new Date('2026-01-02T00:00:00Z'),
      blob: new Uint8Array([1, 2]),
      id: { value: '6f9619ff-8b86-d011-b42d-00cf4fc964ff', type: 'Guid' },
      name: 'n',
    } as never);
    expect(json).toEqual({
      PartitionKey: 'p',
      RowKey: 'r',
      'odata.etag': 'W/"1"',
      Timestamp: '2026-01-01T00:00:00.000Z',
      count: 3,
      huge: '9007199254740993',
      when: '2026-01-02T00:00:00.000Z',
      blob: 'AQI=',
      id: '6f9619ff-8b86-d011-b42d-00cf4fc964ff',
      name: 'n',
    });
  });
});
