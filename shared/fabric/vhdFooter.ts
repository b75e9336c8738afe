/**
 * The 512-byte footer of a fixed-size VHD (Microsoft "Virtual Hard Disk Image Format Specification",
 * "Hard Disk Footer Format"). Azure imports a page blob into a managed disk only when it is a fixed
 * VHD: the disk's data, a whole number of MiB, then this footer. tidemark's replicas are raw disks, so
 * failover appends one before an import (arm/managedDisks.ts); reads of an Azure disk or snapshot see
 * it after the data.
 *
 *   offset size  field
 *        0    8  cookie "conectix"
 *        8    4  features 0x00000002 (reserved bit, always set)
 *       12    4  file format version 0x00010000
 *       16    8  data offset 0xFFFFFFFFFFFFFFFF (fixed disks have no dynamic header)
 *       24    4  time stamp: seconds since 2000-01-01 00:00:00 UTC
 *       28    4  creator application ("tdmk")
 *       32    4  creator version
 *       36    4  creator host OS ("Wi2k")
 *       40    8  original size (bytes)
 *       48    8  current size (bytes)
 *       56    4  disk geometry: cylinders (u16), heads (u8), sectors per track (u8)
 *       60    4  disk type (2 fixed, 3 dynamic, 4 differencing)
 *       64    4  checksum: one's complement of the sum of all footer bytes, this field taken as zero
 *       68   16  unique id
 *       84    1  saved state
 *       85  427  reserved, zero
 *
 * All numbers are big-endian. The footer tidemark writes is deterministic (time stamp 0, unique id
 * from a hash of an identity), so a retried step writes the same bytes.
 */
import { createHash } from 'node:crypto';

import { TidemarkError } from '../errors';

export const VHD_FOOTER_BYTES = 512;

const MiB = 1024 * 1024;
const COOKIE = 'conectix';
const FEATURES = 0x00000002;
const FORMAT_VERSION = 0x00010000;
const CREATOR_APPLICATION = 'tdmk';
/** Fixed, not tidemark's version: a footer must not change when tidemark is upgraded. */
const CREATOR_VERSION = 0x00010000;
const CREATOR_HOST_OS = 'Wi2k';
const CHECKSUM_OFFSET = 64;

const DISK_TYPES: Record<number, VhdFooterInfo['diskType']> = { 2: 'fixed', 3: 'dynamic', 4: 'differencing' };

export interface VhdFooterInfo {
  /** The disk's size in bytes as the footer states it (for a fixed VHD: the data before the footer). */
  currentSize: number;
  originalSize: number;
  /** 2, 3 and 4 by name; any other value as it is. */
  diskType: 'fixed' | 'dynamic' | 'differencing' | number;
  /** The 16 bytes as a UUID string, in the order they are stored. */
  uniqueId: string;
}

export interface VhdGeometry {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

/** CHS geometry of a disk of `sizeBytes`, by the algorithm of the VHD specification's appendix. */
export function vhdGeometry(sizeBytes: number): VhdGeometry {
  let totalSectors = Math.floor(sizeBytes / 512);
  if (totalSectors > 65535 * 16 * 255) totalSectors = 65535 * 16 * 255;
  let sectorsPerTrack: number;
  let heads: number;
  let cylinderTimesHeads: number;
  if (totalSectors >= 65535 * 16 * 63) {
    sectorsPerTrack = 255;
    heads = 16;
    cylinderTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
  } else {
    sectorsPerTrack = 17;
    cylinderTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
    heads = Math.floor((cylinderTimesHeads + 1023) / 1024);
    if (heads < 4) heads = 4;
    if (cylinderTimesHeads >= heads * 1024 || heads > 16) {
      sectorsPerTrack = 31;
      heads = 16;
      cylinderTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
    }
    if (cylinderTimesHeads >= heads * 1024) {
      sectorsPerTrack = 63;
      heads = 16;
      cylinderTimesHeads = Math.floor(totalSectors / sectorsPerTrack);
    }
  }
  return { cylinders: Math.floor(cylinderTimesHeads / heads), heads, sectorsPerTrack };
}

/** The geometry field of a footer (offset 56). */
export function readVhdGeometry(footer: Buffer): VhdGeometry {
  return { cylinders: footer.readUInt16BE(56), heads: footer[58]!, sectorsPerTrack: footer[59]! };
}

function checksumOf(footer: Buffer): number {
  let sum = 0;
  for (let i = 0; i < footer.length; i++) {
    if (i < CHECKSUM_OFFSET || i >= CHECKSUM_OFFSET + 4) sum += footer[i]!;
  }
  return ~sum >>> 0;
}

function mib(n: number): string {
  return `${n} MiB (${n * MiB} bytes)`;
}

/** Why `dataBytes` cannot be the data of a fixed VHD Azure imports, naming the nearest valid sizes. */
export function dataSizeProblem(dataBytes: number): string | undefined {
  if (!Number.isSafeInteger(dataBytes) || dataBytes <= 0) {
    return `${dataBytes} is not a positive whole number of bytes; the smallest valid size is ${mib(1)}`;
  }
  if (dataBytes % MiB === 0) return undefined;
  const below = Math.floor(dataBytes / MiB);
  const above = below + 1;
  return (
    `${dataBytes} bytes is not a whole number of MiB; the nearest valid sizes are ` +
    (below > 0 ? `${mib(below)} and ${mib(above)}` : mib(above))
  );
}

function uuidString(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The footer of a fixed VHD whose data is `dataBytes` long. Deterministic: the time stamp is 0 and the
 * unique id is the first 16 bytes of sha256(`identity`) with RFC 4122's version (4) and variant bits.
 */
export function vhdFooter(dataBytes: number, identity: string): Buffer {
  const problem = dataSizeProblem(dataBytes);
  if (problem) {
    throw new TidemarkError(
      'InvalidArgument',
      `A fixed VHD's data must be a whole number of MiB: ${problem}.`,
      {
        details: { dataBytes },
      },
    );
  }
  const footer = Buffer.alloc(VHD_FOOTER_BYTES);
  footer.write(COOKIE, 0, 'ascii');
  footer.writeUInt32BE(FEATURES, 8);
  footer.writeUInt32BE(FORMAT_VERSION, 12);
  footer.writeBigUInt64BE(0xffffffffffffffffn, 16);
  footer.writeUInt32BE(0, 24);
  footer.write(CREATOR_APPLICATION, 28, 'ascii');
  footer.writeUInt32BE(CREATOR_VERSION, 32);
  footer.write(CREATOR_HOST_OS, 36, 'ascii');
  footer.writeBigUInt64BE(BigInt(dataBytes), 40);
  footer.writeBigUInt64BE(BigInt(dataBytes), 48);
  const geometry = vhdGeometry(dataBytes);
  footer.writeUInt16BE(geometry.cylinders, 56);
  footer[58] = geometry.heads;
  footer[59] = geometry.sectorsPerTrack;
  footer.writeUInt32BE(2, 60);
  const id = createHash('sha256').update(identity, 'utf8').digest().subarray(0, 16);
  id[6] = (id[6]! & 0x0f) | 0x40;
  id[8] = (id[8]! & 0x3f) | 0x80;
  id.copy(footer, 68);
  footer[84] = 0;
  footer.writeUInt32BE(checksumOf(footer), CHECKSUM_OFFSET);
  return footer;
}

function invalid(message: string, details: Record<string, unknown> = {}): TidemarkError {
  return new TidemarkError('InvalidArgument', message, { details });
}

function safeSize(footer: Buffer, offset: number, field: string): number {
  const value = footer.readBigUInt64BE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw invalid(`The VHD footer's ${field} (${value} bytes) is too large.`, { [field]: String(value) });
  }
  return Number(value);
}

/** The fields of a VHD footer that matter for an import; InvalidArgument when it is not a valid footer. */
export function parseVhdFooter(footer: Buffer): VhdFooterInfo {
  if (footer.length !== VHD_FOOTER_BYTES) {
    throw invalid(`A VHD footer is ${VHD_FOOTER_BYTES} bytes, not ${footer.length}.`, {
      length: footer.length,
    });
  }
  const cookie = footer.subarray(0, 8);
  if (cookie.toString('latin1') !== COOKIE) {
    throw invalid(
      `The VHD footer's cookie is ${JSON.stringify(cookie.toString('latin1'))} (hex ${cookie.toString('hex')}), not "${COOKIE}": this is not a VHD.`,
      { cookie: cookie.toString('hex') },
    );
  }
  const stored = footer.readUInt32BE(CHECKSUM_OFFSET);
  const computed = checksumOf(footer);
  if (stored !== computed) {
    throw invalid(
      `The VHD footer's checksum is 0x${stored.toString(16).padStart(8, '0')}, but its bytes sum to 0x${computed.toString(16).padStart(8, '0')}: the footer is damaged.`,
      { stored, computed },
    );
  }
  const type = footer.readUInt32BE(60);
  return {
    currentSize: safeSize(footer, 48, 'currentSize'),
    originalSize: safeSize(footer, 40, 'originalSize'),
    diskType: DISK_TYPES[type] ?? type,
    uniqueId: uuidString(footer.subarray(68, 84)),
  };
}

/**
 * Checks a blob of `blobBytes` that ends in `footer` (its last 512 bytes) is a fixed VHD Azure can
 * import: a valid footer, disk type fixed, the footer's current size exactly the bytes before it, and
 * that a whole number of MiB. InvalidArgument naming what differs otherwise.
 */
export function checkFixedVhd(blobBytes: number, footer: Buffer): VhdFooterInfo {
  if (!Number.isSafeInteger(blobBytes) || blobBytes < VHD_FOOTER_BYTES) {
    throw invalid(`A blob of ${blobBytes} bytes cannot hold a ${VHD_FOOTER_BYTES}-byte VHD footer.`, {
      blobBytes,
    });
  }
  const info = parseVhdFooter(footer);
  if (info.diskType !== 'fixed') {
    throw invalid(`The VHD's disk type is ${info.diskType}, not fixed (2); Azure imports fixed VHDs only.`, {
      diskType: info.diskType,
    });
  }
  const data = blobBytes - VHD_FOOTER_BYTES;
  if (info.currentSize !== data) {
    throw invalid(
      `The VHD footer says the disk is ${info.currentSize} bytes, but ${data} bytes precede it (the blob is ${blobBytes} bytes).`,
      { currentSize: info.currentSize, dataBytes: data, blobBytes },
    );
  }
  const problem = dataSizeProblem(data);
  if (problem) {
    throw invalid(`The VHD's data must be a whole number of MiB: ${problem}.`, {
      dataBytes: data,
      blobBytes,
    });
  }
  return info;
}
