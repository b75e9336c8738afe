import { describe, expect, it } from 'vitest';
import type { RequestHeader } from '../../../agent/nbd/messages';
import { checkRequest, payloadLength } from '../../../agent/nbd/requests';

const SIZE = 1024 * 1024;
const MAX = 32 * 1024 * 1024;
const [READ, WRITE, FLUSH, TRIM, CACHE, WRITE_ZEROES, BLOCK_STATUS] = [0, 1, 3, 4, 5, 6, 7];
const [FUA, NO_HOLE, DF, FAST_ZERO] = [1, 2, 4, 16];

function header(type: number, offset: bigint | number, length: number, flags = 0): RequestHeader {
  return { magic: 0x25609513, flags, type, handle: Buffer.alloc(8), offset: BigInt(offset), length };
}

function errorOf(h: RequestHeader, size = SIZE): number {
  const check = checkRequest(h, size);
  return check.ok ? 0 : check.error;
}

describe('checkRequest', () => {
  it('accepts in-range requests with valid flags', () => {
    expect(checkRequest(header(READ, 0, SIZE), SIZE)).toEqual({ ok: true, offset: 0, length: SIZE });
    expect(errorOf(header(WRITE, SIZE - 1, 1, FUA))).toBe(0);
    expect(errorOf(header(WRITE_ZEROES, 0, SIZE, FUA | NO_HOLE))).toBe(0);
    expect(errorOf(header(TRIM, 512, 512, FUA))).toBe(0);
    expect(errorOf(header(FLUSH, 0, 0, FUA))).toBe(0);
    expect(errorOf(header(READ, SIZE, 0))).toBe(0);
  });

  it('answers ENOSPC for writes and zeroes past the end, EINVAL for reads and trims', () => {
    expect(errorOf(header(WRITE, SIZE - 1, 2))).toBe(28);
    expect(errorOf(header(WRITE_ZEROES, SIZE, 1))).toBe(28);
    expect(errorOf(header(READ, SIZE, 1))).toBe(22);
    expect(errorOf(header(TRIM, SIZE - 511, 512))).toBe(22);
    expect(errorOf(header(READ, SIZE + 1, 0))).toBe(22);
  });

  it('does not overflow on 64-bit offsets', () => {
    expect(errorOf(header(READ, 2n ** 64n - 1n, 1))).toBe(22);
    expect(errorOf(header(WRITE, 2n ** 63n, 1))).toBe(28);
    expect(errorOf(header(READ, 2n ** 53n + 1n, 1), 2 ** 53 - 1)).toBe(22);
  });

  it('refuses reads and writes above the maximum payload whatever the export size', () => {
    expect(errorOf(header(READ, 0, MAX + 1), 2 ** 40)).toBe(22);
    expect(errorOf(header(WRITE, 0, 0xffffffff), 2 ** 40)).toBe(22);
    expect(errorOf(header(READ, 0, MAX), 2 ** 40)).toBe(0);
    // Zeroes and trims carry no payload, so the limit does not apply.
    expect(errorOf(header(WRITE_ZEROES, 0, 0xffffffff), 2 ** 40)).toBe(0);
    expect(errorOf(header(TRIM, 0, 0xffffffff), 2 ** 40)).toBe(0);
  });

  it('refuses unknown commands and flags not valid for the command', () => {
    for (const type of [CACHE, BLOCK_STATUS, 2, 8, 0xffff]) expect(errorOf(header(type, 0, 0))).toBe(22);
    expect(errorOf(header(READ, 0, 512, NO_HOLE))).toBe(22);
    expect(errorOf(header(READ, 0, 512, DF))).toBe(22);
    expect(errorOf(header(WRITE, 0, 512, NO_HOLE))).toBe(22);
    expect(errorOf(header(WRITE_ZEROES, 0, 512, FAST_ZERO))).toBe(22);
    expect(errorOf(header(TRIM, 0, 512, 0x8000))).toBe(22);
  });

  it('refuses a flush with an offset or a length', () => {
    expect(errorOf(header(FLUSH, 512, 0))).toBe(22);
    expect(errorOf(header(FLUSH, 0, 512))).toBe(22);
  });
});

describe('payloadLength', () => {
  it('is the length for writes only', () => {
    expect(payloadLength(header(WRITE, 0, 4096))).toBe(4096);
    expect(payloadLength(header(WRITE_ZEROES, 0, 4096))).toBe(0);
    expect(payloadLength(header(READ, 0, 4096))).toBe(0);
  });
});
