import { describe, expect, it } from 'vitest';

import type { ErrorCode } from '../../../shared/errors';
import {
  decodeDelta,
  encodeDelta,
  MAX_ENTRY_BYTES,
  MAX_ZERO_ENTRY_BYTES,
  readDeltaHeader,
  type DecodeDeltaOptions,
} from '../../../shared/delta';
import { ENTRY, ENTRY_HEADER_BYTES, HEADER } from '../../../shared/delta/constants';
import {
  caught,
  chunked,
  copyOf,
  dataEntry,
  decodeViaStream,
  entryOffsets,
  resealHeader,
  sampleDelta,
} from './support';

const good = encodeDelta(sampleDelta());
// Data entries e0, e1 and e3; ez (entry 2) is a 256 MiB zero range.
const [e0, e1, ez, e3] = entryOffsets(good);

/** A copy of the good blob with `edit` applied. */
function edited(edit: (blob: Buffer) => unknown): Buffer {
  const blob = copyOf(good);
  edit(blob);
  return blob;
}

/** The same, with the header CRC recomputed so the edit reaches the checks behind it. */
function sealed(edit: (blob: Buffer) => unknown): Buffer {
  return resealHeader(edited(edit));
}

interface Case {
  name: string;
  blob: Buffer;
  code: ErrorCode;
  /** Facts the error's details must carry. */
  details?: Record<string, unknown>;
  options?: DecodeDeltaOptions;
}

const cases: Case[] = [
  { name: 'a wrong magic', blob: edited((b) => (b[0] = 0x58)), code: 'DeltaBadMagic', details: { at: 0 } },
  { name: 'a short blob that is no delta', blob: Buffer.from('PK\u0003'), code: 'DeltaBadMagic' },
  { name: 'an empty blob', blob: Buffer.alloc(0), code: 'DeltaTruncated', details: { at: 0 } },
  { name: 'a blob cut inside the magic', blob: good.subarray(0, 5), code: 'DeltaTruncated' },
  {
    name: 'version 2',
    blob: edited((b) => b.writeUInt16LE(2, HEADER.version)),
    code: 'DeltaBadVersion',
    details: { at: HEADER.version, expected: 1, actual: 2 },
  },
  {
    name: 'a VM id length of 0',
    blob: edited((b) => b.writeUInt16LE(0, HEADER.vmIdLength)),
    code: 'DeltaMalformed',
    details: { field: 'vmIdLength' },
  },
  {
    name: 'a VM id length over 256',
    blob: edited((b) => b.writeUInt16LE(257, HEADER.vmIdLength)),
    code: 'DeltaMalformed',
    details: { field: 'vmIdLength' },
  },
  {
    name: 'a header length that disagrees with the VM id length',
    blob: edited((b) => b.writeUInt16LE(b.readUInt16LE(HEADER.headerLength) + 1, HEADER.headerLength)),
    code: 'DeltaMalformed',
    details: { field: 'headerLength' },
  },
  {
    name: 'a header byte changed',
    blob: edited((b) => (b[HEADER.sequence] ^= 1)),
    code: 'DeltaBadChecksum',
    details: { part: 'header' },
  },
  {
    name: 'an unknown flag bit',
    blob: sealed((b) => b.writeUInt16LE(0x0100, HEADER.flags)),
    code: 'DeltaMalformed',
    details: { at: HEADER.flags, field: 'flags' },
  },
  {
    name: 'a compression other than none',
    blob: sealed((b) => b.writeUInt16LE(0x0010, HEADER.flags)),
    code: 'DeltaMalformed',
    details: { at: HEADER.flags, compression: 1 },
  },
  {
    name: 'a VM id that is not UTF-8',
    blob: sealed((b) => (b[HEADER.vmId] = 0xff)),
    code: 'DeltaMalformed',
    details: { field: 'vmId' },
  },
  {
    name: 'a VM id that is not rg/vm',
    blob: sealed((b) => b.write('-', HEADER.vmId + 'rg-app'.length, 'latin1')),
    code: 'DeltaMalformed',
    details: { field: 'vmId', actual: 'rg-app-vm-web-01' },
  },
  {
    name: 'a generation above 2^53 - 1',
    blob: sealed((b) => b.writeBigUInt64LE(2n ** 60n, HEADER.generation)),
    code: 'DeltaMalformed',
    details: { at: HEADER.generation, field: 'generation' },
  },
  {
    name: 'a first write time after the last',
    blob: sealed((b) => b.writeBigUInt64LE(2n ** 50n, HEADER.firstWriteTime)),
    code: 'DeltaMalformed',
    details: { field: 'firstWriteTime' },
  },
  {
    name: 'a heartbeat with entries',
    blob: sealed((b) => b.writeUInt16LE(0x0002, HEADER.flags)),
    code: 'DeltaMalformed',
    details: { field: 'entryCount' },
  },
  {
    name: 'more entries than the payload can hold',
    blob: sealed((b) => b.writeUInt32LE(1000, HEADER.entryCount)),
    code: 'DeltaMalformed',
    details: { field: 'payloadLength', entryCount: 1000 },
  },
  {
    name: 'a payload length longer than the blob',
    blob: sealed((b) =>
      b.writeBigUInt64LE(b.readBigUInt64LE(HEADER.payloadLength) + 512n, HEADER.payloadLength),
    ),
    code: 'DeltaTruncated',
    details: { expected: good.length + 512, actual: good.length },
  },
  {
    name: 'bytes after the trailer',
    blob: Buffer.concat([good, Buffer.alloc(1)]),
    code: 'DeltaOversized',
    details: { at: good.length, expected: good.length, actual: good.length + 1 },
  },
  {
    name: 'a blob over maxBytes',
    blob: good,
    options: { maxBytes: good.length - 1 },
    code: 'DeltaOversized',
    details: { maxBytes: good.length - 1 },
  },
  {
    name: 'a misaligned entry offset',
    blob: edited((b) => b.writeBigUInt64LE(100n, e1 + ENTRY.offset)),
    code: 'DeltaMisaligned',
    details: { at: e1, entry: 1, field: 'offset', actual: 100 },
  },
  {
    name: 'a misaligned entry length',
    blob: edited((b) => b.writeUInt32LE(511, e0 + ENTRY.length)),
    code: 'DeltaMisaligned',
    details: { at: e0, entry: 0, field: 'length', actual: 511 },
  },
  {
    name: 'an empty entry',
    blob: edited((b) => b.writeUInt32LE(0, e0 + ENTRY.length)),
    code: 'DeltaMalformed',
    details: { entry: 0, field: 'length' },
  },
  {
    name: 'an entry over 4 MiB',
    blob: edited((b) => b.writeUInt32LE(MAX_ENTRY_BYTES + 512, e3 + ENTRY.length)),
    code: 'DeltaOversized',
    details: { at: e3, entry: 3, max: MAX_ENTRY_BYTES },
  },
  {
    name: 'an entry offset above 2^53 - 1',
    blob: edited((b) => b.writeBigUInt64LE(2n ** 60n, e0 + ENTRY.offset)),
    code: 'DeltaMalformed',
    details: { entry: 0, field: 'offset' },
  },
  {
    name: 'an entry ending past byte 2^53 - 1',
    blob: edited((b) => b.writeBigUInt64LE(BigInt(Math.floor(2 ** 53 / 512) * 512), e0 + ENTRY.offset)),
    code: 'DeltaMalformed',
    details: { entry: 0, field: 'offset' },
  },
  {
    name: 'an entry running past the payload',
    blob: edited((b) => b.writeUInt32LE(1024 + 512, e3 + ENTRY.length)),
    code: 'DeltaMalformed',
    details: { entry: 3, field: 'length' },
  },
  {
    name: 'a payload that ends inside an entry header',
    blob: sealed((b) => b.writeUInt32LE(5, HEADER.entryCount)),
    code: 'DeltaMalformed',
    details: { entry: 4, entryCount: 5 },
  },
  {
    name: 'payload left after the last entry',
    blob: sealed((b) => b.writeUInt32LE(2, HEADER.entryCount)),
    code: 'DeltaMalformed',
    details: { at: ez, entryCount: 2 },
  },
  {
    name: 'changed entry data',
    blob: edited((b) => (b[e1 + ENTRY_HEADER_BYTES + 100] ^= 0x80)),
    code: 'DeltaBadChecksum',
    details: { at: e1 + ENTRY_HEADER_BYTES, entry: 1, part: 'entry' },
  },
  {
    name: 'a changed disk index (caught by the trailer)',
    blob: edited((b) => (b[e3 + ENTRY.disk] ^= 1)),
    code: 'DeltaBadChecksum',
    details: { at: good.length - 4, part: 'trailer' },
  },
  {
    name: 'an unknown entry flag',
    blob: edited((b) => b.writeUInt16LE(0x0002, e1 + ENTRY.flags)),
    code: 'DeltaMalformed',
    details: { at: e1, entry: 1, field: 'flags', actual: 0x0002 },
  },
  {
    name: 'an unknown entry flag beside the zero flag',
    blob: edited((b) => b.writeUInt16LE(0x8001, ez + ENTRY.flags)),
    code: 'DeltaMalformed',
    details: { at: ez, entry: 2, field: 'flags', actual: 0x8001 },
  },
  {
    name: 'a zero entry with a non-zero CRC field',
    blob: edited((b) => b.writeUInt32LE(0x1234, ez + ENTRY.crc)),
    code: 'DeltaMalformed',
    details: { at: ez, entry: 2, field: 'crc', expected: 0, actual: 0x1234 },
  },
  {
    name: 'a data entry flagged as a zero range (its data CRC is not 0)',
    blob: edited((b) => b.writeUInt16LE(0x0001, e1 + ENTRY.flags)),
    code: 'DeltaMalformed',
    details: { at: e1, entry: 1, field: 'crc', expected: 0 },
  },
  {
    name: 'a zero entry over 1 GiB',
    blob: edited((b) => b.writeUInt32LE(MAX_ZERO_ENTRY_BYTES + 512, ez + ENTRY.length)),
    code: 'DeltaOversized',
    details: {
      at: ez,
      entry: 2,
      field: 'length',
      actual: MAX_ZERO_ENTRY_BYTES + 512,
      max: MAX_ZERO_ENTRY_BYTES,
    },
  },
  {
    name: 'a zero entry of the largest aligned u32',
    blob: edited((b) => b.writeUInt32LE(0xfffffe00, ez + ENTRY.length)),
    code: 'DeltaOversized',
    details: { at: ez, entry: 2, max: MAX_ZERO_ENTRY_BYTES },
  },
  {
    name: 'a misaligned zero length',
    blob: edited((b) => b.writeUInt32LE(1000, ez + ENTRY.length)),
    code: 'DeltaMisaligned',
    details: { at: ez, entry: 2, field: 'length', actual: 1000 },
  },
  {
    name: 'a zero entry of length 0',
    blob: edited((b) => b.writeUInt32LE(0, ez + ENTRY.length)),
    code: 'DeltaMalformed',
    details: { at: ez, entry: 2, field: 'length', actual: 0 },
  },
  {
    name: 'a zero entry ending past byte 2^53 - 1',
    blob: edited((b) => b.writeBigUInt64LE(2n ** 53n - 512n, ez + ENTRY.offset)),
    code: 'DeltaMalformed',
    details: { at: ez, entry: 2, field: 'offset' },
  },
  {
    name: 'a zero entry turned into data (its length is over 4 MiB)',
    blob: edited((b) => b.writeUInt16LE(0, ez + ENTRY.flags)),
    code: 'DeltaOversized',
    details: { at: ez, entry: 2, max: MAX_ENTRY_BYTES },
  },
  {
    name: 'a changed zero length (caught by the trailer)',
    blob: edited((b) => b.writeUInt32LE(512, ez + ENTRY.length)),
    code: 'DeltaBadChecksum',
    details: { at: good.length - 4, part: 'trailer' },
  },
  {
    name: 'a changed trailer',
    blob: edited((b) => (b[b.length - 1] ^= 1)),
    code: 'DeltaBadChecksum',
    details: { part: 'trailer' },
  },
  {
    name: 'another VM',
    blob: good,
    options: { vmId: 'rg-app/vm-web-02' },
    code: 'DeltaMalformed',
    details: { field: 'vmId', expected: 'rg-app/vm-web-02', actual: 'rg-app/vm-web-01' },
  },
  {
    name: 'another generation',
    blob: good,
    options: { generation: 4 },
    code: 'DeltaBadGeneration',
    details: { at: HEADER.generation, expected: 4, actual: 3 },
  },
  {
    name: 'another sequence',
    blob: good,
    options: { sequence: 41 },
    code: 'DeltaMalformed',
    details: { field: 'sequence', expected: 41, actual: 42 },
  },
];

describe('decodeDelta and decodeDeltaStream reject every way a blob can be wrong', () => {
  describe.each(cases)('$name', ({ blob, code, details, options }) => {
    it('decodeDelta', async () => {
      const error = await caught(() => decodeDelta(blob, options));
      expect(error.code, error.message).toBe(code);
      expect(error.details).toMatchObject(details ?? {});
      expect(error.message).toMatch(/at byte \d+/);
    });

    it('decodeDeltaStream', async () => {
      const { maxBytes, ...expectation } = options ?? {};
      const error = await caught(() =>
        decodeViaStream(chunked(blob, [7, 64, 1]), {
          blobLength: blob.length,
          maxBytes,
          expect: expectation,
        }),
      );
      expect(error.code, error.message).toBe(code);
      expect(error.details).toMatchObject(details ?? {});
    });
  });
});

describe('decodeDelta', () => {
  it('decodes what encodeDelta wrote, with entries as views of the input', () => {
    const input = new Uint8Array(good);
    const delta = decodeDelta(input, {
      vmId: 'rg-app/vm-web-01',
      generation: 3,
      sequence: 42,
      maxBytes: good.length,
    });
    expect(delta).toEqual(sampleDelta());
    expect(dataEntry(delta.entries[0]).data.buffer).toBe(input.buffer);
    expect(delta.entries[2]).toStrictEqual({
      disk: 1,
      offset: 64 * 1024 * 1024,
      zeroLength: 256 * 1024 * 1024,
    });
  });

  it('says what is wrong and where', () => {
    const blob = edited((b) => (b[e1 + ENTRY_HEADER_BYTES] ^= 1));
    expect(() => decodeDelta(blob)).toThrow(
      /^delta entry 1 data CRC32C is 0x[0-9a-f]{8}, its header says 0x[0-9a-f]{8} \(at byte \d+\)$/,
    );
  });
});

describe('readDeltaHeader', () => {
  it('reads the header from the first bytes only', () => {
    const header = readDeltaHeader(good.subarray(0, good.readUInt16LE(HEADER.headerLength)));
    expect(header).toMatchObject({
      version: 1,
      vmId: 'rg-app/vm-web-01',
      generation: 3,
      sequence: 42,
      appConsistent: false,
      heartbeat: false,
      compression: 'none',
      entryCount: 4,
      blobLength: good.length,
    });
  });

  it('tells how many bytes it needs when given too few', async () => {
    const error = await caught(() => readDeltaHeader(good.subarray(0, 20)));
    expect(error.code).toBe('DeltaTruncated');
    expect(error.details).toMatchObject({ needed: good.readUInt16LE(HEADER.headerLength), available: 20 });
  });

  it('checks the header CRC, so a header read alone can be trusted', async () => {
    const error = await caught(() => readDeltaHeader(edited((b) => (b[HEADER.sequence] ^= 1))));
    expect(error.code).toBe('DeltaBadChecksum');
  });
});
