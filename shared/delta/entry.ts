import { crc32c } from '@node-rs/crc32';

import {
  ENTRY,
  ENTRY_FLAG_ZERO,
  ENTRY_HEADER_BYTES,
  KNOWN_ENTRY_FLAGS,
  MAX_ENTRY_BYTES,
  MAX_ZERO_ENTRY_BYTES,
  SECTOR_BYTES,
} from './constants';
import { deltaError, hex } from './deltaErrors';
import type { DeltaEntry, DeltaZeroEntry } from './types';
import { readU64, writeU64 } from './bytes';

export interface EntryHeader {
  disk: number;
  /** A zero range: no data follows the header. */
  zero: boolean;
  offset: number;
  /** Bytes on the disk: of the data that follows, or of the zero range. */
  length: number;
  crc: number;
  /** Bytes of data after the header in the blob: `length`, or 0 for a zero range. */
  dataLength: number;
}

/** A zero range rather than data. */
export function isZeroEntry(entry: DeltaEntry): entry is DeltaZeroEntry {
  return 'zeroLength' in entry;
}

/** Bytes of the disk the entry covers: its data's length or its zero range's. */
export function entryLength(entry: DeltaEntry): number {
  return isZeroEntry(entry) ? entry.zeroLength : entry.data.length;
}

/** Bytes the entry takes in the blob, its header included. */
export function encodedEntryBytes(entry: DeltaEntry): number {
  return ENTRY_HEADER_BYTES + (isZeroEntry(entry) ? 0 : entry.data.length);
}

/** Writes entry header and data at `at`; returns where the next entry starts. */
export function writeEntry(buf: Buffer, at: number, entry: DeltaEntry): number {
  buf.writeUInt16LE(entry.disk, at + ENTRY.disk);
  writeU64(buf, entry.offset, at + ENTRY.offset);
  if (isZeroEntry(entry)) {
    buf.writeUInt16LE(ENTRY_FLAG_ZERO, at + ENTRY.flags);
    buf.writeUInt32LE(entry.zeroLength, at + ENTRY.length);
    buf.writeUInt32LE(0, at + ENTRY.crc);
    return at + ENTRY_HEADER_BYTES;
  }
  buf.writeUInt16LE(0, at + ENTRY.flags);
  buf.writeUInt32LE(entry.data.length, at + ENTRY.length);
  buf.writeUInt32LE(crc32c(entry.data), at + ENTRY.crc);
  buf.set(entry.data, at + ENTRY_HEADER_BYTES);
  return at + ENTRY_HEADER_BYTES + entry.data.length;
}

/**
 * Parses the 20-byte header of entry `index`, found at blob offset `at`, and checks it against
 * the format's limits and the end of the payload, so the caller can allocate `dataLength` bytes.
 * A zero entry's `length` is never a byte count of the blob: nothing may be allocated from it.
 */
export function parseEntryHeader(bytes: Buffer, index: number, at: number, payloadEnd: number): EntryHeader {
  const where = { at, entry: index };
  const flags = bytes.readUInt16LE(ENTRY.flags);
  if ((flags & ~KNOWN_ENTRY_FLAGS) !== 0) {
    throw deltaError(
      'DeltaMalformed',
      `delta entry ${index} flags ${hex(flags, 4)} set unknown bits ${hex(flags & ~KNOWN_ENTRY_FLAGS, 4)}`,
      { ...where, field: 'flags', actual: flags },
    );
  }
  const zero = (flags & ENTRY_FLAG_ZERO) !== 0;
  const kind = zero ? 'zero range' : 'data';
  const offset = readU64(bytes, ENTRY.offset);
  const length = bytes.readUInt32LE(ENTRY.length);
  const crc = bytes.readUInt32LE(ENTRY.crc);
  if (offset === undefined) {
    throw deltaError('DeltaMalformed', `delta entry ${index} offset is above 2^53 - 1`, {
      ...where,
      field: 'offset',
      actual: bytes.readBigUInt64LE(ENTRY.offset).toString(),
    });
  }
  if (offset % SECTOR_BYTES !== 0 || length % SECTOR_BYTES !== 0) {
    const field = offset % SECTOR_BYTES !== 0 ? 'offset' : 'length';
    const actual = field === 'offset' ? offset : length;
    throw deltaError(
      'DeltaMisaligned',
      `delta entry ${index} ${field} ${actual} is not a multiple of ${SECTOR_BYTES}`,
      {
        ...where,
        field,
        actual,
      },
    );
  }
  if (length === 0) {
    throw deltaError('DeltaMalformed', `delta entry ${index} has no ${kind}`, {
      ...where,
      field: 'length',
      actual: 0,
    });
  }
  const max = zero ? MAX_ZERO_ENTRY_BYTES : MAX_ENTRY_BYTES;
  if (length > max) {
    throw deltaError('DeltaOversized', `delta entry ${index} ${kind} is ${length} bytes, more than ${max}`, {
      ...where,
      field: 'length',
      actual: length,
      max,
    });
  }
  if (zero && crc !== 0) {
    throw deltaError(
      'DeltaMalformed',
      `delta entry ${index} is a zero range but its CRC field is ${hex(crc)}, not 0`,
      { ...where, field: 'crc', expected: 0, actual: crc },
    );
  }
  if (offset + length > Number.MAX_SAFE_INTEGER) {
    throw deltaError('DeltaMalformed', `delta entry ${index} ends past byte 2^53 - 1 of its disk`, {
      ...where,
      field: 'offset',
      actual: offset,
      length,
    });
  }
  const dataLength = zero ? 0 : length;
  const dataEnd = at + ENTRY_HEADER_BYTES + dataLength;
  if (dataEnd > payloadEnd) {
    throw deltaError(
      'DeltaMalformed',
      `delta entry ${index} of ${length} bytes runs ${dataEnd - payloadEnd} bytes past the end of the payload`,
      { ...where, field: 'length', actual: length, payloadEnd },
    );
  }
  return { disk: bytes.readUInt16LE(ENTRY.disk), zero, offset, length, crc, dataLength };
}

/** The decoded zero entry of `header` (which is a zero range). */
export function zeroEntry(header: EntryHeader): DeltaZeroEntry {
  return { disk: header.disk, offset: header.offset, zeroLength: header.length };
}

/** Checks the data of entry `index` against its CRC32C; `at` is the blob offset of the data. */
export function checkEntryData(data: Uint8Array, header: EntryHeader, index: number, at: number): void {
  const actual = crc32c(data);
  if (actual !== header.crc) {
    throw deltaError(
      'DeltaBadChecksum',
      `delta entry ${index} data CRC32C is ${hex(actual)}, its header says ${hex(header.crc)}`,
      { at, entry: index, part: 'entry', expected: header.crc, actual },
    );
  }
}

/** Before reading entry `index`'s header at `at`: the payload must still hold it. */
export function checkEntryHeaderFits(
  index: number,
  entryCount: number,
  at: number,
  payloadEnd: number,
): void {
  if (at + ENTRY_HEADER_BYTES > payloadEnd) {
    throw deltaError(
      'DeltaMalformed',
      `delta payload ends ${payloadEnd - at} bytes into entry ${index} of ${entryCount}, inside its header`,
      { at, entry: index, entryCount, payloadEnd },
    );
  }
}

/** After the last entry: the payload must end exactly there. */
export function checkPayloadEnd(entryCount: number, at: number, payloadEnd: number): void {
  if (at !== payloadEnd) {
    throw deltaError(
      'DeltaMalformed',
      `delta payload has ${payloadEnd - at} bytes left after its ${entryCount} entries`,
      { at, entryCount, payloadEnd },
    );
  }
}
