import { crc32c } from '@node-rs/crc32';
import { describe, expect, it } from 'vitest';

import {
  decodeDelta,
  encodeDelta,
  entryLength,
  isZeroEntry,
  MAX_ENTRY_BYTES,
  MAX_ZERO_ENTRY_BYTES,
  type Delta,
  type DeltaEntry,
} from '../../../shared/delta';
import { dataEntry, expectCode, pattern, sampleDelta, T0 } from './support';

describe('encodeDelta byte layout (docs/delta-format.md)', () => {
  it('uses CRC32C (Castagnoli), not CRC32', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('writes every field at its documented offset', () => {
    const data = pattern(512, 5);
    const blob = encodeDelta({
      vmId: 'rg/vm',
      generation: 7,
      sequence: 9,
      firstWriteTime: T0,
      lastWriteTime: T0 + 1,
      appConsistent: true,
      heartbeat: false,
      entries: [{ disk: 2, offset: 4096, data }],
    });
    const headerLength = 60 + 5 + 4;
    expect(blob.length).toBe(headerLength + 20 + 512 + 4);
    expect(blob.subarray(0, 8).toString('latin1')).toBe('TDMDELTA');
    expect(blob.readUInt16LE(8)).toBe(1); // version
    expect(blob.readUInt16LE(10)).toBe(0x0001); // flags: app-consistent, compression 0
    expect(blob.readUInt16LE(12)).toBe(headerLength);
    expect(blob.readUInt16LE(14)).toBe(5);
    expect(blob.readBigUInt64LE(16)).toBe(7n);
    expect(blob.readBigUInt64LE(24)).toBe(9n);
    expect(blob.readBigUInt64LE(32)).toBe(BigInt(T0));
    expect(blob.readBigUInt64LE(40)).toBe(BigInt(T0 + 1));
    expect(blob.readBigUInt64LE(48)).toBe(20n + 512n); // payload length
    expect(blob.readUInt32LE(56)).toBe(1); // entry count
    expect(blob.subarray(60, 65).toString('utf8')).toBe('rg/vm');
    expect(blob.readUInt32LE(65)).toBe(crc32c(blob.subarray(0, 65)));

    const entry = headerLength;
    expect(blob.readUInt16LE(entry)).toBe(2); // disk
    expect(blob.readUInt16LE(entry + 2)).toBe(0); // flags: data
    expect(blob.readBigUInt64LE(entry + 4)).toBe(4096n);
    expect(blob.readUInt32LE(entry + 12)).toBe(512);
    expect(blob.readUInt32LE(entry + 16)).toBe(crc32c(data));
    expect(blob.subarray(entry + 20, entry + 20 + 512).equals(data)).toBe(true);

    const tableCrc = crc32c(blob.subarray(entry, entry + 20), crc32c(blob.subarray(0, headerLength)));
    expect(blob.readUInt32LE(blob.length - 4)).toBe(tableCrc);
  });

  it('writes a zero entry as a flagged 20-byte header with no data and a CRC field of 0', () => {
    const data = pattern(1024, 5);
    const blob = encodeDelta({
      vmId: 'rg/vm',
      generation: 7,
      sequence: 9,
      firstWriteTime: T0,
      lastWriteTime: T0 + 1,
      appConsistent: false,
      heartbeat: false,
      entries: [
        { disk: 3, offset: 2 ** 40, zeroLength: MAX_ZERO_ENTRY_BYTES },
        { disk: 1, offset: 512, data },
      ],
    });
    const headerLength = 60 + 5 + 4;
    expect(blob.length).toBe(headerLength + 20 + 20 + 1024 + 4);
    expect(blob.readBigUInt64LE(48)).toBe(20n + 20n + 1024n); // payload length

    const zero = headerLength;
    expect(blob.readUInt16LE(zero)).toBe(3); // disk
    expect(blob.readUInt16LE(zero + 2)).toBe(0x0001); // flags: zero range
    expect(blob.readBigUInt64LE(zero + 4)).toBe(2n ** 40n);
    expect(blob.readUInt32LE(zero + 12)).toBe(MAX_ZERO_ENTRY_BYTES);
    expect(blob.readUInt32LE(zero + 16)).toBe(0);

    const next = zero + 20; // the next entry header follows at once
    expect(blob.readUInt16LE(next)).toBe(1);
    expect(blob.readUInt16LE(next + 2)).toBe(0);
    expect(blob.readUInt32LE(next + 12)).toBe(1024);
    expect(blob.subarray(next + 20, next + 20 + 1024).equals(data)).toBe(true);

    let tableCrc = crc32c(blob.subarray(0, headerLength));
    tableCrc = crc32c(blob.subarray(zero, zero + 20), tableCrc);
    tableCrc = crc32c(blob.subarray(next, next + 20), tableCrc);
    expect(blob.readUInt32LE(blob.length - 4)).toBe(tableCrc);
  });

  it('isZeroEntry and entryLength tell the two kinds of entry apart', () => {
    const zero: DeltaEntry = { disk: 0, offset: 0, zeroLength: 4096 };
    const data: DeltaEntry = { disk: 0, offset: 0, data: pattern(1024, 1) };
    expect([isZeroEntry(zero), isZeroEntry(data)]).toEqual([true, false]);
    expect([entryLength(zero), entryLength(data)]).toEqual([4096, 1024]);
  });

  it('marks a heartbeat in flag bit 1 and writes no entries', () => {
    const blob = encodeDelta(
      sampleDelta({ heartbeat: true, entries: [], firstWriteTime: T0, lastWriteTime: T0 }),
    );
    expect(blob.readUInt16LE(10)).toBe(0x0002);
    expect(blob.readBigUInt64LE(48)).toBe(0n);
    expect(blob.length).toBe(60 + 'rg-app/vm-web-01'.length + 4 + 4);
  });

  it('round-trips the largest entry the Put Page limit allows', () => {
    const data = pattern(MAX_ENTRY_BYTES, 3);
    const delta = sampleDelta({ entries: [{ disk: 0, offset: 0, data }] });
    expect(dataEntry(decodeDelta(encodeDelta(delta)).entries[0]).data.equals(data)).toBe(true);
  });

  it('round-trips the largest zero range and one ending at the last sector below 2^53', () => {
    const entries: DeltaEntry[] = [
      { disk: 0, offset: 0, zeroLength: MAX_ZERO_ENTRY_BYTES },
      { disk: 0xffff, offset: 2 ** 53 - 1024, zeroLength: 512 },
    ];
    const delta = sampleDelta({ entries });
    expect(decodeDelta(encodeDelta(delta))).toStrictEqual(delta);
  });
});

describe('encodeDelta rejects input the format cannot carry with InvalidArgument', () => {
  const entry = (overrides: Record<string, unknown>): Partial<Delta> => ({
    entries: [{ disk: 0, offset: 0, data: pattern(512, 1), ...overrides } as DeltaEntry],
  });
  const zero = (overrides: Record<string, unknown>): Partial<Delta> => ({
    entries: [{ disk: 0, offset: 0, zeroLength: 512, ...overrides } as DeltaEntry],
  });
  const cases: [string, Partial<Delta>, string][] = [
    ['an empty VM id', { vmId: '' }, 'vmId'],
    ['a VM id without a resource group', { vmId: 'vm' }, 'vmId'],
    ['a VM id with three parts', { vmId: 'rg/vm/x' }, 'vmId'],
    ['a VM id with an empty name', { vmId: 'rg/' }, 'vmId'],
    ['a VM id over 256 UTF-8 bytes', { vmId: `rg/${'é'.repeat(127)}` }, 'vmId'],
    ['a VM id with a lone surrogate', { vmId: 'rg/vm\ud800' }, 'vmId'],
    ['a VM id with a control character', { vmId: 'rg/v\nm' }, 'vmId'],
    ['a negative generation', { generation: -1 }, 'generation'],
    ['a fractional sequence', { sequence: 1.5 }, 'sequence'],
    ['a sequence above 2^53 - 1', { sequence: 2 ** 53 }, 'sequence'],
    ['a NaN write time', { firstWriteTime: Number.NaN }, 'firstWriteTime'],
    ['a first write after the last', { firstWriteTime: T0 + 2, lastWriteTime: T0 + 1 }, 'firstWriteTime'],
    ['a heartbeat with entries', { heartbeat: true }, 'entries'],
    ['a disk index above 65535', entry({ disk: 65536 }), 'entries[0].disk'],
    ['a negative disk index', entry({ disk: -1 }), 'entries[0].disk'],
    ['a misaligned offset', entry({ offset: 100 }), 'entries[0].offset'],
    ['a negative offset', entry({ offset: -512 }), 'entries[0].offset'],
    ['empty data', entry({ data: Buffer.alloc(0) }), 'entries[0].data'],
    ['misaligned data', entry({ data: Buffer.alloc(513) }), 'entries[0].data'],
    ['data over 4 MiB', entry({ data: Buffer.alloc(MAX_ENTRY_BYTES + 512) }), 'entries[0].data'],
    [
      'an entry ending past 2^53 - 1',
      entry({ offset: Math.floor(2 ** 53 / 512) * 512 - 512, data: Buffer.alloc(1024) }),
      'entries[0]',
    ],
    ['an entry that is not an object', { entries: [null as unknown as DeltaEntry] }, 'entries[0]'],
    [
      'an entry with neither data nor zeroLength',
      { entries: [{ disk: 0, offset: 0 } as DeltaEntry] },
      'entries[0].data',
    ],
    ['an undefined zero length', zero({ zeroLength: undefined }), 'entries[0].zeroLength'],
    ['a data entry without data', entry({ data: undefined }), 'entries[0].data'],
    ['a zero entry with data as well', zero({ data: pattern(512, 1) }), 'entries[0]'],
    ['a zero entry with undefined data as well', zero({ data: undefined }), 'entries[0]'],
    ['a zero length of 0', zero({ zeroLength: 0 }), 'entries[0].zeroLength'],
    ['a misaligned zero length', zero({ zeroLength: 1000 }), 'entries[0].zeroLength'],
    ['a fractional zero length', zero({ zeroLength: 512.5 }), 'entries[0].zeroLength'],
    ['a negative zero length', zero({ zeroLength: -512 }), 'entries[0].zeroLength'],
    ['a zero length as a string', zero({ zeroLength: '512' }), 'entries[0].zeroLength'],
    ['a zero length over 1 GiB', zero({ zeroLength: MAX_ZERO_ENTRY_BYTES + 512 }), 'entries[0].zeroLength'],
    ['a zero entry with a misaligned offset', zero({ offset: 100 }), 'entries[0].offset'],
    ['a zero entry with a disk above 65535', zero({ disk: 65536 }), 'entries[0].disk'],
    [
      'a zero entry ending past 2^53 - 1',
      zero({ offset: 2 ** 53 - MAX_ZERO_ENTRY_BYTES, zeroLength: MAX_ZERO_ENTRY_BYTES }),
      'entries[0]',
    ],
  ];
  it.each(cases)('%s', async (_name, overrides, field) => {
    const details = await expectCode(() => encodeDelta(sampleDelta(overrides)), 'InvalidArgument');
    expect(details.field).toBe(field);
  });

  it('rejects a delta bigger than maxBytes', async () => {
    const delta = sampleDelta();
    const size = encodeDelta(delta).length;
    expect(encodeDelta(delta, { maxBytes: size }).length).toBe(size);
    await expectCode(() => encodeDelta(delta, { maxBytes: size - 1 }), 'InvalidArgument');
  });
});
