import { crc32c } from '@node-rs/crc32';

import type { TidemarkError } from '../errors';
import {
  COMPRESSION_MASK,
  COMPRESSION_NONE,
  COMPRESSION_SHIFT,
  DELTA_MAGIC,
  DELTA_VERSION,
  ENTRY_HEADER_BYTES,
  FIXED_HEADER_BYTES,
  FLAG_APP_CONSISTENT,
  FLAG_HEARTBEAT,
  FLAG_RESYNC_REQUIRED,
  HEADER,
  HEADER_CRC_BYTES,
  HEADER_PREFIX_BYTES,
  KNOWN_FLAGS,
  MAX_ENTRY_BYTES,
  MAX_VM_ID_BYTES,
  TRAILER_BYTES,
} from './constants';
import { asBuffer, readU64, writeU64 } from './bytes';
import { deltaError, hex } from './deltaErrors';
import type { Delta, DeltaHeader } from './types';
import { vmIdProblem } from './vmId';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function headerLengthFor(vmIdBytes: number): number {
  return FIXED_HEADER_BYTES + vmIdBytes + HEADER_CRC_BYTES;
}

/** Writes the header of `delta` at the start of `buf`; returns its length. */
export function writeHeader(buf: Buffer, delta: Delta, vmId: Buffer, payloadLength: number): number {
  const headerLength = headerLengthFor(vmId.length);
  const flags =
    (delta.appConsistent ? FLAG_APP_CONSISTENT : 0) |
    (delta.heartbeat ? FLAG_HEARTBEAT : 0) |
    (delta.resyncRequired ? FLAG_RESYNC_REQUIRED : 0);
  DELTA_MAGIC.copy(buf, HEADER.magic);
  buf.writeUInt16LE(DELTA_VERSION, HEADER.version);
  buf.writeUInt16LE(flags | (COMPRESSION_NONE << COMPRESSION_SHIFT), HEADER.flags);
  buf.writeUInt16LE(headerLength, HEADER.headerLength);
  buf.writeUInt16LE(vmId.length, HEADER.vmIdLength);
  writeU64(buf, delta.generation, HEADER.generation);
  writeU64(buf, delta.sequence, HEADER.sequence);
  writeU64(buf, delta.firstWriteTime, HEADER.firstWriteTime);
  writeU64(buf, delta.lastWriteTime, HEADER.lastWriteTime);
  writeU64(buf, payloadLength, HEADER.payloadLength);
  buf.writeUInt32LE(delta.entries.length, HEADER.entryCount);
  vmId.copy(buf, HEADER.vmId);
  const crcAt = headerLength - HEADER_CRC_BYTES;
  buf.writeUInt32LE(crc32c(buf.subarray(0, crcAt)), crcAt);
  return headerLength;
}

/**
 * Checks the first 16 bytes (magic, version, lengths) and returns the header length. A buffer
 * shorter than 16 bytes whose bytes agree with the magic is DeltaTruncated.
 */
export function parseHeaderPrefix(buf: Buffer): number {
  const magicBytes = Math.min(buf.length, DELTA_MAGIC.length);
  if (!buf.subarray(0, magicBytes).equals(DELTA_MAGIC.subarray(0, magicBytes))) {
    throw deltaError('DeltaBadMagic', 'not a tidemark delta: the blob does not start with "TDMDELTA"', {
      at: 0,
      expected: DELTA_MAGIC.toString('hex'),
      actual: buf.subarray(0, magicBytes).toString('hex'),
    });
  }
  if (buf.length < HEADER_PREFIX_BYTES) {
    throw deltaError('DeltaTruncated', `delta ends after ${buf.length} bytes, inside the header`, {
      at: buf.length,
      needed: HEADER_PREFIX_BYTES,
      available: buf.length,
    });
  }
  const version = buf.readUInt16LE(HEADER.version);
  if (version !== DELTA_VERSION) {
    throw deltaError(
      'DeltaBadVersion',
      `delta version ${version} is not supported (expected ${DELTA_VERSION})`,
      {
        at: HEADER.version,
        expected: DELTA_VERSION,
        actual: version,
      },
    );
  }
  const vmIdLength = buf.readUInt16LE(HEADER.vmIdLength);
  if (vmIdLength === 0 || vmIdLength > MAX_VM_ID_BYTES) {
    throw deltaError(
      'DeltaMalformed',
      `delta VM id length ${vmIdLength} is not within 1-${MAX_VM_ID_BYTES}`,
      {
        at: HEADER.vmIdLength,
        field: 'vmIdLength',
        actual: vmIdLength,
      },
    );
  }
  const headerLength = buf.readUInt16LE(HEADER.headerLength);
  if (headerLength !== headerLengthFor(vmIdLength)) {
    throw deltaError(
      'DeltaMalformed',
      `delta header length ${headerLength} does not match its VM id length ${vmIdLength} (expected ${headerLengthFor(vmIdLength)})`,
      {
        at: HEADER.headerLength,
        field: 'headerLength',
        expected: headerLengthFor(vmIdLength),
        actual: headerLength,
      },
    );
  }
  return headerLength;
}

function u64Field(buf: Buffer, field: keyof typeof HEADER): number {
  const value = readU64(buf, HEADER[field]);
  if (value === undefined) {
    throw deltaError(
      'DeltaMalformed',
      `delta ${field} ${buf.readBigUInt64LE(HEADER[field])} is above 2^53 - 1`,
      {
        at: HEADER[field],
        field,
        actual: buf.readBigUInt64LE(HEADER[field]).toString(),
      },
    );
  }
  return value;
}

function malformed(
  field: keyof typeof HEADER,
  message: string,
  facts: Record<string, unknown>,
): TidemarkError {
  return deltaError('DeltaMalformed', `delta ${message}`, { at: HEADER[field], field, ...facts });
}

/** Parses and checks a whole header (its own CRC included) from the start of `buf`. */
export function parseHeader(buf: Buffer): DeltaHeader {
  const headerLength = parseHeaderPrefix(buf);
  if (buf.length < headerLength) {
    throw deltaError(
      'DeltaTruncated',
      `delta ends after ${buf.length} bytes, inside its ${headerLength}-byte header`,
      {
        at: buf.length,
        needed: headerLength,
        available: buf.length,
      },
    );
  }
  const crcAt = headerLength - HEADER_CRC_BYTES;
  const expectedCrc = buf.readUInt32LE(crcAt);
  const actualCrc = crc32c(buf.subarray(0, crcAt));
  if (actualCrc !== expectedCrc) {
    throw deltaError(
      'DeltaBadChecksum',
      `delta header CRC32C is ${hex(actualCrc)}, the header says ${hex(expectedCrc)}`,
      {
        at: crcAt,
        part: 'header',
        expected: expectedCrc,
        actual: actualCrc,
      },
    );
  }

  const flags = buf.readUInt16LE(HEADER.flags);
  if ((flags & ~KNOWN_FLAGS) !== 0) {
    throw malformed('flags', `flags ${hex(flags, 4)} set unknown bits ${hex(flags & ~KNOWN_FLAGS, 4)}`, {
      actual: flags,
    });
  }
  const compression = (flags & COMPRESSION_MASK) >> COMPRESSION_SHIFT;
  if (compression !== COMPRESSION_NONE) {
    throw malformed('flags', `compression ${compression} is not supported (version 1 knows only 0 = none)`, {
      compression,
    });
  }

  const vmIdBytes = buf.subarray(HEADER.vmId, crcAt);
  let vmId: string;
  try {
    vmId = utf8.decode(vmIdBytes);
  } catch {
    throw malformed('vmId', 'VM id is not valid UTF-8', { actual: vmIdBytes.toString('hex') });
  }
  const vmIdIssue = vmIdProblem(vmId);
  if (vmIdIssue) throw malformed('vmId', `VM id ${JSON.stringify(vmId)} ${vmIdIssue}`, { actual: vmId });

  const payloadLength = u64Field(buf, 'payloadLength');
  const header: DeltaHeader = {
    version: DELTA_VERSION,
    vmId,
    generation: u64Field(buf, 'generation'),
    sequence: u64Field(buf, 'sequence'),
    firstWriteTime: u64Field(buf, 'firstWriteTime'),
    lastWriteTime: u64Field(buf, 'lastWriteTime'),
    appConsistent: (flags & FLAG_APP_CONSISTENT) !== 0,
    heartbeat: (flags & FLAG_HEARTBEAT) !== 0,
    ...((flags & FLAG_RESYNC_REQUIRED) !== 0 ? { resyncRequired: true } : {}),
    compression: 'none',
    entryCount: buf.readUInt32LE(HEADER.entryCount),
    headerLength,
    payloadLength,
    blobLength: headerLength + payloadLength + TRAILER_BYTES,
  };

  if (header.firstWriteTime > header.lastWriteTime) {
    throw malformed(
      'firstWriteTime',
      `first write time ${header.firstWriteTime} is after its last write time ${header.lastWriteTime}`,
      {
        firstWriteTime: header.firstWriteTime,
        lastWriteTime: header.lastWriteTime,
      },
    );
  }
  if (header.heartbeat && header.entryCount !== 0) {
    throw malformed('entryCount', `heartbeat has ${header.entryCount} entries (a heartbeat has none)`, {
      actual: header.entryCount,
    });
  }
  const minPayload = header.entryCount * ENTRY_HEADER_BYTES;
  const maxPayload = header.entryCount * (ENTRY_HEADER_BYTES + MAX_ENTRY_BYTES);
  if (header.payloadLength < minPayload || header.payloadLength > maxPayload) {
    throw malformed(
      'payloadLength',
      `payload length ${header.payloadLength} cannot hold ${header.entryCount} entries (${minPayload}-${maxPayload} bytes)`,
      { actual: header.payloadLength, entryCount: header.entryCount, min: minPayload, max: maxPayload },
    );
  }
  return header;
}

/**
 * Reads only the header from the first bytes of a blob (MAX_HEADER_BYTES always suffice) and
 * checks its own CRC32C. Too few bytes is DeltaTruncated, with `details.needed`.
 */
export function readDeltaHeader(bytes: Uint8Array): DeltaHeader {
  return parseHeader(asBuffer(bytes));
}
