import { crc32c } from '@node-rs/crc32';

import { ENTRY, ENTRY_HEADER_BYTES, MAX_ENTRY_BYTES, SECTOR_BYTES } from './constants';
import { deltaError, hex } from './deltaErrors';
import type { DeltaEntry } from './types';
import { readU64, writeU64 } from './bytes';

export interface EntryHeader {
  disk: number;
  offset: number;
  length: number;
  crc: number;
}

/** Writes entry header and data at `at`; returns where the next entry starts. */
export function writeEntry(buf: Buffer, at: number, entry: DeltaEntry): number {
  buf.writeUInt16LE(entry.disk, at + ENTRY.disk);
  writeU64(buf, entry.offset, at + ENTRY.offset);
  buf.writeUInt32LE(entry.data.length, at + ENTRY.length);
  buf.writeUInt32LE(crc32c(entry.data), at + ENTRY.crc);
  buf.set(entry.data, at + ENTRY_HEADER_BYTES);
  return at + ENTRY_HEADER_BYTES + entry.data.length;
}

/**
 * Parses the 18-byte header of entry `index`, found at blob offset `at`, and checks it against
 * the format's limits and the end of the payload, so the caller can allocate `length` bytes.
 */
export function parseEntryHeader(bytes: Buffer, index: number, at: number, payloadEnd: number): EntryHeader {
  const where = { at, entry: index };
  const offset = readU64(bytes, ENTRY.offset);
  const length = bytes.readUInt32LE(ENTRY.length);
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
    throw deltaError('DeltaMalformed', `delta entry ${index} has no data`, {
      ...where,
      field: 'length',
      actual: 0,
    });
  }
  if (length > MAX_ENTRY_BYTES) {
    throw deltaError(
      'DeltaOversized',
      `delta entry ${index} is ${length} bytes, more than ${MAX_ENTRY_BYTES}`,
      {
        ...where,
        field: 'length',
        actual: length,
        max: MAX_ENTRY_BYTES,
      },
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
  const dataEnd = at + ENTRY_HEADER_BYTES + length;
  if (dataEnd > payloadEnd) {
    throw deltaError(
      'DeltaMalformed',
      `delta entry ${index} of ${length} bytes runs ${dataEnd - payloadEnd} bytes past the end of the payload`,
      { ...where, field: 'length', actual: length, payloadEnd },
    );
  }
  return { disk: bytes.readUInt16LE(ENTRY.disk), offset, length, crc: bytes.readUInt32LE(ENTRY.crc) };
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
