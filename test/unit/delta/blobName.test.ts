import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  deltaBlobMetadata,
  deltaBlobName,
  deltaBlobPrefix,
  parseDeltaBlobMetadata,
  parseDeltaBlobName,
  readDeltaHeader,
  encodeDelta,
} from '../../../shared/delta';
import { expectCode, sampleDelta, u64Arb, vmIdArb } from './support';

describe('deltaBlobName', () => {
  it('is {rg}/{vm}/{generation}/{seq:020}.delta', () => {
    expect(deltaBlobName({ resourceGroup: 'rg-app', vm: 'vm-web-01', generation: 3, sequence: 42 })).toBe(
      'rg-app/vm-web-01/3/00000000000000000042.delta',
    );
    expect(deltaBlobPrefix({ resourceGroup: 'rg-app', vm: 'vm-web-01' })).toBe('rg-app/vm-web-01/');
    expect(deltaBlobPrefix({ resourceGroup: 'rg-app', vm: 'vm-web-01', generation: 3 })).toBe(
      'rg-app/vm-web-01/3/',
    );
  });

  it('round-trips through parseDeltaBlobName, and names sort by sequence', () => {
    fc.assert(
      fc.property(vmIdArb, u64Arb, u64Arb, u64Arb, (vmId, generation, a, b) => {
        const [resourceGroup, vm] = vmId.split('/');
        const name = deltaBlobName({ resourceGroup, vm, generation, sequence: a });
        expect(parseDeltaBlobName(name)).toEqual({ resourceGroup, vm, generation, sequence: a });
        const other = deltaBlobName({ resourceGroup, vm, generation, sequence: b });
        expect(Math.sign(name < other ? -1 : name > other ? 1 : 0)).toBe(Math.sign(a - b));
      }),
    );
  });

  it.each([
    ['an empty resource group', { resourceGroup: '', vm: 'vm', generation: 1, sequence: 1 }],
    ['a slash in the VM name', { resourceGroup: 'rg', vm: 'a/b', generation: 1, sequence: 1 }],
    ['a ".." VM name', { resourceGroup: 'rg', vm: '..', generation: 1, sequence: 1 }],
    ['a negative sequence', { resourceGroup: 'rg', vm: 'vm', generation: 1, sequence: -1 }],
    ['a fractional generation', { resourceGroup: 'rg', vm: 'vm', generation: 0.5, sequence: 1 }],
  ])('rejects %s', async (_name, input) => {
    await expectCode(() => deltaBlobName(input), 'InvalidArgument');
  });

  it.each([
    'rg/vm/3/00000000000000000042',
    'rg/vm/3/0000000000000000042.delta',
    'rg/vm/3/000000000000000000042.delta',
    'rg/vm/03/00000000000000000042.delta',
    'rg/vm/-3/00000000000000000042.delta',
    'rg/vm/x/00000000000000000042.delta',
    'rg/vm/3/0000000000000000004a.delta',
    'rg/vm/3/99999999999999999999.delta',
    'rg/vm/99999999999999999999/00000000000000000042.delta',
    'cache/rg/vm/3/00000000000000000042.delta',
    'vm/3/00000000000000000042.delta',
    '/vm/3/00000000000000000042.delta',
    'rg/../3/00000000000000000042.delta',
    'rg/v\u0001m/3/00000000000000000042.delta',
    '',
  ])('parseDeltaBlobName rejects %j', async (name) => {
    await expectCode(() => parseDeltaBlobName(name), 'InvalidArgument');
  });
});

describe('deltaBlobMetadata', () => {
  it('carries generation, sequence, times and flags as lower-case string pairs', () => {
    const header = readDeltaHeader(encodeDelta(sampleDelta({ appConsistent: true })));
    const metadata = deltaBlobMetadata(header);
    expect(metadata).toEqual({
      generation: '3',
      sequence: '42',
      firstwritetime: String(header.firstWriteTime),
      lastwritetime: String(header.lastWriteTime),
      appconsistent: 'true',
      heartbeat: 'false',
    });
    expect(parseDeltaBlobMetadata(metadata)).toEqual({
      generation: 3,
      sequence: 42,
      firstWriteTime: header.firstWriteTime,
      lastWriteTime: header.lastWriteTime,
      appConsistent: true,
      heartbeat: false,
    });
  });

  it('reads keys in any case, as storage may return them', () => {
    const metadata = Object.fromEntries(
      Object.entries(deltaBlobMetadata(sampleDelta())).map(([key, value]) => [key.toUpperCase(), value]),
    );
    expect(parseDeltaBlobMetadata(metadata).sequence).toBe(42);
  });

  it.each([
    ['a missing sequence', { sequence: undefined }, 'sequence'],
    ['a sequence with a sign', { sequence: '+42' }, 'sequence'],
    ['a generation above 2^53 - 1', { generation: '9007199254740993' }, 'generation'],
    ['a generation with leading zeros', { generation: '03' }, 'generation'],
    ['a heartbeat that is not a boolean', { heartbeat: 'yes' }, 'heartbeat'],
  ])('parseDeltaBlobMetadata rejects %s', async (_name, change, key) => {
    const metadata: Record<string, string | undefined> = { ...deltaBlobMetadata(sampleDelta()), ...change };
    const details = await expectCode(() => parseDeltaBlobMetadata(metadata), 'InvalidArgument');
    expect(String(details.key).toLowerCase()).toBe(key);
  });

  it('rejects a sequence that is not a u64', async () => {
    await expectCode(() => deltaBlobMetadata({ ...sampleDelta(), sequence: -1 }), 'InvalidArgument');
  });
});
