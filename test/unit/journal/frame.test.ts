import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ERROR_CODES } from '../../../shared/errors';
import {
  decodeFrameHeader,
  encodeFrame,
  encodeFrameHeader,
  FRAME_HEADER_BYTES,
  MAX_FRAME_DELTA_BYTES,
} from '../../../shared/journal';
import { FRAME } from '../../../shared/journal/frame';
import { caught } from '../../helpers/caught';

const sequenceArb = fc.oneof(fc.nat({ max: 1_000_000 }), fc.constant(Number.MAX_SAFE_INTEGER));
const lengthArb = fc.oneof(fc.integer({ min: 1, max: 4096 }), fc.constant(MAX_FRAME_DELTA_BYTES));

async function corruptCode(bytes: Buffer): Promise<string> {
  return (await caught(Promise.resolve().then(() => decodeFrameHeader(bytes)))).code;
}

describe('journal frame header', () => {
  it('is TDMJ | version 1 | 0 | length u32 | sequence u64 | CRC32C of the first 20 bytes, little-endian', () => {
    const header = encodeFrameHeader(0x0102030405, 0x0a0b0c);
    expect(header.length).toBe(FRAME_HEADER_BYTES);
    expect(header.toString('hex', 0, 20)).toBe(
      ['54444d4a', '0100', '0000', '0c0b0a00', '0504030201000000'].join(''),
    );
    expect(header.readUInt32LE(FRAME.crc)).toBe(crc32c(header.subarray(0, 20)));
  });

  it('round-trips: decode(encode(sequence, length)) at any offset', () => {
    fc.assert(
      fc.property(sequenceArb, lengthArb, fc.nat({ max: 64 }), (sequence, length, at) => {
        const bytes = Buffer.concat([Buffer.alloc(at, 0xee), encodeFrameHeader(sequence, length)]);
        expect(decodeFrameHeader(bytes, at)).toEqual({ sequence, length });
      }),
    );
  });

  it('a whole frame is the header then the delta', () => {
    fc.assert(
      fc.property(sequenceArb, fc.uint8Array({ minLength: 1, maxLength: 300 }), (sequence, delta) => {
        const frame = encodeFrame(sequence, delta);
        expect(decodeFrameHeader(frame)).toEqual({ sequence, length: delta.length });
        expect(frame.subarray(FRAME_HEADER_BYTES).equals(Buffer.from(delta))).toBe(true);
      }),
    );
  });

  it('detects any single-byte corruption of the header as JournalCorrupt, a system error', async () => {
    expect(ERROR_CODES.JournalCorrupt).toBe('system');
    await fc.assert(
      fc.asyncProperty(
        sequenceArb,
        lengthArb,
        fc.nat({ max: FRAME_HEADER_BYTES - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (sequence, length, at, flip) => {
          const header = encodeFrameHeader(sequence, length);
          header[at]! ^= flip;
          const error = await caught(Promise.resolve().then(() => decodeFrameHeader(header)));
          expect(error.code).toBe('JournalCorrupt');
          expect(error.kind).toBe('system');
          expect(error.retryable).toBe(false);
        },
      ),
    );
  });

  it('names what is wrong and where', async () => {
    const header = encodeFrameHeader(7, 100);
    const at = (bytes: Buffer) =>
      caught(
        Promise.resolve().then(() =>
          decodeFrameHeader(bytes, 0, { blobName: 'rg/vm/1/x.journal', offset: 96 }),
        ),
      );
    const badMagic = Buffer.from(header);
    badMagic.write('XDMJ', 0, 'latin1');
    expect((await at(badMagic)).message).toMatch(/rg\/vm\/1\/x\.journal, frame at byte 96: no "TDMJ" magic/);
    const badVersion = Buffer.from(header);
    badVersion.writeUInt16LE(2, FRAME.version);
    expect((await at(badVersion)).message).toMatch(/version 2 is not supported/);
    const badCrc = Buffer.from(header);
    badCrc[FRAME.sequence]! ^= 1;
    expect((await at(badCrc)).details).toMatchObject({ field: 'crc', offset: 96 });
    expect((await at(header.subarray(0, 10))).message).toMatch(/only 10 of the 24 header bytes/);
  });

  it('refuses a length over the largest delta even with a good CRC', async () => {
    const header = encodeFrameHeader(7, 100);
    header.writeUInt32LE(MAX_FRAME_DELTA_BYTES + 1, FRAME.length);
    header.writeUInt32LE(crc32c(header.subarray(0, FRAME.crc)), FRAME.crc);
    expect(await corruptCode(header)).toBe('JournalCorrupt');
    const zero = encodeFrameHeader(7, 100);
    zero.writeUInt32LE(0, FRAME.length);
    zero.writeUInt32LE(crc32c(zero.subarray(0, FRAME.crc)), FRAME.crc);
    expect(await corruptCode(zero)).toBe('JournalCorrupt');
  });

  it('encodes only u64 sequences and lengths of 1 to 80 MiB (InvalidArgument)', async () => {
    for (const [sequence, length] of [
      [-1, 10],
      [1.5, 10],
      [1, 0],
      [1, MAX_FRAME_DELTA_BYTES + 1],
    ] as const) {
      expect((await caught(Promise.resolve().then(() => encodeFrameHeader(sequence, length)))).code).toBe(
        'InvalidArgument',
      );
    }
  });
});
