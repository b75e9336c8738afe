/**
 * A journal frame: one append block of a segment, a 24-byte header then the delta's bytes.
 *
 *   | magic "TDMJ" 4 | version u16 = 1 | reserved u16 = 0 | delta length u32 | sequence u64 | CRC32C u32 |
 *
 * Little-endian, as the delta codec. The CRC32C covers the first 20 header bytes; the delta checks
 * its own bytes. docs/delta-format.md, "Journal segments", draws it.
 */
import { crc32c } from '@node-rs/crc32';

import { readU64, writeU64 } from '../delta/bytes';
import { hex } from '../delta/deltaErrors';
import { TidemarkError } from '../errors';

export const FRAME_MAGIC: Buffer = Buffer.from('TDMJ', 'latin1');
export const FRAME_VERSION = 1;
export const FRAME_HEADER_BYTES = 24;
/** The largest delta a frame carries: the applier's largest; with its header it fits one append block. */
export const MAX_FRAME_DELTA_BYTES = 80 * 1024 * 1024;

export const FRAME = { magic: 0, version: 4, reserved: 6, length: 8, sequence: 12, crc: 20 } as const;

export interface FrameHeader {
  sequence: number;
  /** Bytes of the delta after the header. */
  length: number;
}

/** Where a header was read, for the error's message and details. */
export interface FrameSource {
  blobName?: string;
  /** Byte offset of the frame in its segment. */
  offset?: number;
}

export function encodeFrameHeader(sequence: number, length: number): Buffer {
  if (!Number.isSafeInteger(sequence) || sequence < 0) {
    throw new TidemarkError('InvalidArgument', 'journal frame sequence is not a u64', {
      details: { sequence },
    });
  }
  if (!Number.isInteger(length) || length < 1 || length > MAX_FRAME_DELTA_BYTES) {
    throw new TidemarkError(
      'InvalidArgument',
      `a journaled delta is 1 to ${MAX_FRAME_DELTA_BYTES} bytes, not ${length}`,
      { details: { length, max: MAX_FRAME_DELTA_BYTES } },
    );
  }
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  FRAME_MAGIC.copy(header, FRAME.magic);
  header.writeUInt16LE(FRAME_VERSION, FRAME.version);
  header.writeUInt32LE(length, FRAME.length);
  writeU64(header, sequence, FRAME.sequence);
  header.writeUInt32LE(crc32c(header.subarray(0, FRAME.crc)), FRAME.crc);
  return header;
}

/** The whole frame of a delta in one buffer. */
export function encodeFrame(sequence: number, delta: Uint8Array): Buffer {
  return Buffer.concat([encodeFrameHeader(sequence, delta.length), delta]);
}

const CORRUPT_HINT =
  'The journal was changed by something other than tidemark, or storage returned bad bytes. Any-point-in-time recovery cannot replay past this frame; recovery points are not affected.';

/** A segment whose bytes are not what tidemark wrote: a system error, never retried. */
export function journalCorrupt(
  blobName: string | undefined,
  offset: number,
  problem: string,
  facts: Record<string, unknown> = {},
): TidemarkError {
  return new TidemarkError(
    'JournalCorrupt',
    `journal segment ${blobName ?? '(unnamed)'}, frame at byte ${offset}: ${problem}`,
    { retryable: false, hint: CORRUPT_HINT, details: { blobName, offset, ...facts } },
  );
}

/**
 * Checks and reads the header at `at` in `bytes` (FRAME_HEADER_BYTES must be there). A header that
 * is not one tidemark wrote is JournalCorrupt: a system error, as the journal is tidemark's own data.
 */
export function decodeFrameHeader(bytes: Buffer, at = 0, source: FrameSource = {}): FrameHeader {
  const corrupt = (problem: string, facts: Record<string, unknown> = {}): TidemarkError =>
    journalCorrupt(source.blobName, source.offset ?? at, problem, facts);
  if (bytes.length - at < FRAME_HEADER_BYTES) {
    throw corrupt(`only ${bytes.length - at} of the ${FRAME_HEADER_BYTES} header bytes`);
  }
  const header = bytes.subarray(at, at + FRAME_HEADER_BYTES);
  if (!header.subarray(FRAME.magic, FRAME.magic + 4).equals(FRAME_MAGIC)) {
    throw corrupt(`no "TDMJ" magic (found ${header.subarray(0, 4).toString('hex')})`, {
      field: 'magic',
    });
  }
  const version = header.readUInt16LE(FRAME.version);
  if (version !== FRAME_VERSION) {
    throw corrupt(`frame version ${version} is not supported (expected ${FRAME_VERSION})`, {
      field: 'version',
      actual: version,
    });
  }
  const expected = header.readUInt32LE(FRAME.crc);
  const actual = crc32c(header.subarray(0, FRAME.crc));
  if (actual !== expected) {
    throw corrupt(`header CRC32C is ${hex(actual)}, the header says ${hex(expected)}`, {
      field: 'crc',
      expected,
      actual,
    });
  }
  const reserved = header.readUInt16LE(FRAME.reserved);
  if (reserved !== 0) throw corrupt(`reserved field is ${reserved}, not 0`, { field: 'reserved' });
  const length = header.readUInt32LE(FRAME.length);
  if (length < 1 || length > MAX_FRAME_DELTA_BYTES) {
    throw corrupt(`delta length ${length} is not within 1-${MAX_FRAME_DELTA_BYTES}`, {
      field: 'length',
      actual: length,
    });
  }
  const sequence = readU64(header, FRAME.sequence);
  if (sequence === undefined) throw corrupt('sequence is above 2^53 - 1', { field: 'sequence' });
  return { sequence, length };
}
