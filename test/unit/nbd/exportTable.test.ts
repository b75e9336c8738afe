import { describe, expect, it } from 'vitest';
import type { BlockDevice } from '../../../agent/blockDevice';
import { MemoryBlockDevice } from '../../../agent/memoryBlockDevice';
import { ExportTable } from '../../../agent/nbd/exportTable';

describe('ExportTable', () => {
  const os = new MemoryBlockDevice('os', 4096);
  const data = new MemoryBlockDevice('data', 8192);

  it('resolves names, and the empty name to the default export', () => {
    const table = new ExportTable(
      new Map<string, BlockDevice>([
        ['vm-os', os],
        ['vm-data', data],
      ]),
      'vm-os',
    );
    expect(table.names()).toEqual(['vm-os', 'vm-data']);
    expect(table.resolve('vm-data')).toEqual({ name: 'vm-data', device: data });
    expect(table.resolve('')).toEqual({ name: 'vm-os', device: os });
    expect(table.resolve('nope')).toBeUndefined();
  });

  it('has no default export unless told', () => {
    expect(new ExportTable(new Map([['vm-os', os]])).resolve('')).toBeUndefined();
  });

  it('asks an export function afresh on every lookup', () => {
    const live = new Map<string, BlockDevice>();
    const table = new ExportTable(() => live);
    expect(table.resolve('vm-os')).toBeUndefined();
    live.set('vm-os', os);
    expect(table.resolve('vm-os')?.device).toBe(os);
    expect(table.names()).toEqual(['vm-os']);
  });
});
