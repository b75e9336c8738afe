/**
 * The fixed-VHD footer: the exact layout of the VHD specification, deterministic bytes, round trips
 * over every valid size (fast-check), every single-byte change rejected, the spec's CHS geometry, and
 * the checks of a blob Azure would import.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { isTidemarkError, type TidemarkError } from '../../../shared/errors';
import {
  checkFixedVhd,
  parseVhdFooter,
  readVhdGeometry,
  VHD_FOOTER_BYTES,
  vhdFooter,
  vhdGeometry,
} from '../../../shared/fabric/vhdFooter';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

function rejects(fn: () => unknown): TidemarkError {
  try {
    fn();
  } catch (err) {
    expect(isTidemarkError(err, 'InvalidArgument')).toBe(true);
    return err as TidemarkError;
  }
  throw new Error('expected an InvalidArgument error');
}

/** The spec's checksum, written out again: ~(sum of every byte but 64..67). */
function specChecksum(footer: Buffer): number {
  let sum = 0;
  footer.forEach((b, i) => {
    if (i < 64 || i > 67) sum += b;
  });
  return ~sum >>> 0;
}

describe('vhdFooter', () => {
  it('writes every field of the specification', () => {
    const footer = vhdFooter(20 * MiB, 'job-1/app-rg/web1/os');
    expect(footer).toHaveLength(VHD_FOOTER_BYTES);
    expect(footer.subarray(0, 8).toString('ascii')).toBe('conectix');
    expect(footer.readUInt32BE(8)).toBe(0x00000002);
    expect(footer.readUInt32BE(12)).toBe(0x00010000);
    expect(footer.subarray(16, 24).toString('hex')).toBe('ffffffffffffffff');
    expect(footer.readUInt32BE(24)).toBe(0);
    expect(footer.subarray(28, 32).toString('ascii')).toBe('tdmk');
    expect(footer.readUInt32BE(32)).toBe(0x00010000);
    expect(footer.subarray(36, 40).toString('ascii')).toBe('Wi2k');
    expect(footer.readBigUInt64BE(40)).toBe(BigInt(20 * MiB));
    expect(footer.readBigUInt64BE(48)).toBe(BigInt(20 * MiB));
    expect(readVhdGeometry(footer)).toEqual({ cylinders: 602, heads: 4, sectorsPerTrack: 17 });
    expect(footer.readUInt32BE(60)).toBe(2);
    expect(footer.readUInt32BE(64)).toBe(specChecksum(footer));
    // RFC 4122: version 4 in the high nibble of byte 6, variant 10xx in byte 8.
    expect(footer[68 + 6]! >> 4).toBe(4);
    expect(footer[68 + 8]! >> 6).toBe(2);
    expect(footer[84]).toBe(0);
    expect(footer.subarray(85).every((b) => b === 0)).toBe(true);
  });

  it('is deterministic: the same size and identity give the same bytes, another identity another id', () => {
    const a = vhdFooter(GiB, 'x');
    expect(vhdFooter(GiB, 'x').equals(a)).toBe(true);
    const b = vhdFooter(GiB, 'y');
    expect(parseVhdFooter(b).uniqueId).not.toBe(parseVhdFooter(a).uniqueId);
    expect(a.subarray(0, 68).equals(b.subarray(0, 68))).toBe(false); // the checksum covers the id
  });

  it('refuses a data size that is not a positive whole number of MiB, naming the nearest valid sizes', () => {
    expect(rejects(() => vhdFooter(GiB + 512, 'x')).message).toContain(
      'nearest valid sizes are 1024 MiB (1073741824 bytes) and 1025 MiB (1074790400 bytes)',
    );
    expect(rejects(() => vhdFooter(4096, 'x')).message).toContain('1 MiB (1048576 bytes)');
    for (const bad of [0, -MiB, 1.5 * MiB + 0.5, Number.NaN, 2 ** 60]) rejects(() => vhdFooter(bad, 'x'));
  });

  it('round-trips every valid size from 1 MiB to 4 TiB (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 * 1024 * 1024 }), fc.string(), (mibs, identity) => {
        const size = mibs * MiB;
        const footer = vhdFooter(size, identity);
        const info = parseVhdFooter(footer);
        expect(info).toMatchObject({ currentSize: size, originalSize: size, diskType: 'fixed' });
        expect(info.uniqueId).toMatch(
          /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        );
        expect(checkFixedVhd(size + VHD_FOOTER_BYTES, footer)).toEqual(info);
        expect(readVhdGeometry(footer)).toEqual(vhdGeometry(size));
      }),
      { numRuns: 300 },
    );
  });

  it('rejects every single-byte change of a footer (fast-check)', () => {
    // What is asserted: for any valid footer, any offset 0..511 and any different byte value there,
    // parseVhdFooter throws InvalidArgument. A change in the cookie (0..7) is reported as a bad cookie;
    // any other change (including one in the checksum field 64..67 itself: the stored value then differs
    // from the computed one) is a bad checksum. No single-byte change can go unnoticed, because the
    // sum of 508 bytes (at most 129540) never wraps, so changing one byte always changes it.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 * 1024 * 1024 }),
        fc.integer({ min: 0, max: VHD_FOOTER_BYTES - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (mibs, offset, delta) => {
          const footer = vhdFooter(mibs * MiB, `id-${mibs}`);
          footer[offset] = (footer[offset]! + delta) & 0xff;
          const err = rejects(() => parseVhdFooter(footer));
          expect(err.message).toContain(offset < 8 ? 'cookie' : 'checksum');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('computes the CHS geometry of the specification', () => {
    // Worked out by hand from the appendix of the VHD specification (integer division throughout):
    //  1 MiB   = 2048 sectors:      17 spt; 2048/17 = 120 cyl×heads; heads max(4, ceil(120/1024)) = 4;
    //                               120/4 = 30 cylinders.
    //  20 MiB  = 40960 sectors:     17 spt; 2409 cyl×heads; heads 4; 2409 < 4096; 602 cylinders.
    //  512 MiB = 1048576 sectors:   17 spt gives 61680 → 61 heads > 16; 31 spt gives 33825 ≥ 16×1024;
    //                               so 63 spt, 16 heads, 16644 → 1040 cylinders.
    //  127 GiB = 266338304 sectors: ≥ 65535×16×63, so 255 spt, 16 heads; 1044463 → 65278 cylinders.
    //  4 TiB:                       capped at 65535×16×255 sectors: 65535/16/255.
    // (qemu-img's vpc driver rounds the cylinders up instead, to fit the size: 31, 603, 1041, 65279.)
    expect(vhdGeometry(MiB)).toEqual({ cylinders: 30, heads: 4, sectorsPerTrack: 17 });
    expect(vhdGeometry(20 * MiB)).toEqual({ cylinders: 602, heads: 4, sectorsPerTrack: 17 });
    expect(vhdGeometry(512 * MiB)).toEqual({ cylinders: 1040, heads: 16, sectorsPerTrack: 63 });
    expect(vhdGeometry(127 * GiB)).toEqual({ cylinders: 65278, heads: 16, sectorsPerTrack: 255 });
    expect(vhdGeometry(4 * TiB)).toEqual({ cylinders: 65535, heads: 16, sectorsPerTrack: 255 });
    expect(readVhdGeometry(vhdFooter(127 * GiB, 'x'))).toEqual(vhdGeometry(127 * GiB));
  });

  it('says precisely why a footer is not one', () => {
    expect(rejects(() => parseVhdFooter(Buffer.alloc(511))).message).toBe(
      'A VHD footer is 512 bytes, not 511.',
    );
    const zeros = rejects(() => parseVhdFooter(Buffer.alloc(512)));
    expect(zeros.message).toContain('cookie');
    expect(zeros.message).toContain('0000000000000000');
    const footer = vhdFooter(MiB, 'x');
    footer[100] = 1;
    expect(rejects(() => parseVhdFooter(footer)).message).toMatch(
      /checksum is 0x[0-9a-f]{8}, but its bytes sum to 0x[0-9a-f]{8}/,
    );
  });
});

describe('checkFixedVhd', () => {
  it('accepts a blob that is the data and then the footer', () => {
    expect(checkFixedVhd(3 * MiB + 512, vhdFooter(3 * MiB, 'x'))).toMatchObject({
      currentSize: 3 * MiB,
      diskType: 'fixed',
    });
  });

  it('names what differs', () => {
    const footer = vhdFooter(3 * MiB, 'x');
    // A blob one MiB longer (or one without the footer: the last 512 bytes are data then).
    expect(rejects(() => checkFixedVhd(4 * MiB + 512, footer)).message).toBe(
      'The VHD footer says the disk is 3145728 bytes, but 4194304 bytes precede it (the blob is 4194816 bytes).',
    );
    expect(rejects(() => checkFixedVhd(100, footer)).message).toContain('cannot hold');
    // A dynamic disk's footer.
    const dynamic = Buffer.from(footer);
    dynamic.writeUInt32BE(3, 60);
    dynamic.writeUInt32BE(specChecksum(dynamic), 64);
    expect(rejects(() => checkFixedVhd(3 * MiB + 512, dynamic)).message).toContain('dynamic, not fixed');
    // A footer consistent with its blob, but data that is not a whole number of MiB.
    const odd = Buffer.from(footer);
    odd.writeBigUInt64BE(BigInt(3 * MiB + 512), 48);
    odd.writeUInt32BE(specChecksum(odd), 64);
    expect(rejects(() => checkFixedVhd(3 * MiB + 1024, odd)).message).toContain(
      'nearest valid sizes are 3 MiB (3145728 bytes) and 4 MiB (4194304 bytes)',
    );
    // Unknown disk types come back as numbers.
    const other = Buffer.from(footer);
    other.writeUInt32BE(6, 60);
    other.writeUInt32BE(specChecksum(other), 64);
    expect(parseVhdFooter(other).diskType).toBe(6);
  });
});
