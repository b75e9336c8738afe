import { crc32c } from '@node-rs/crc32';

import { asBuffer } from './bytes';
import { ENTRY_HEADER_BYTES } from './constants';
import { checkEntryData, checkEntryHeaderFits, checkPayloadEnd, parseEntryHeader, zeroEntry } from './entry';
import { parseHeader } from './header';
import { checkBlobLength, checkExpectation, checkMaxBytes } from './headerChecks';
import { checkTrailer } from './trailer';
import type { DecodeDeltaOptions, Delta, DeltaEntry, DeltaHeader } from './types';

function deltaFromHeader(header: DeltaHeader, entries: DeltaEntry[]): Delta {
  const { vmId, generation, sequence, firstWriteTime, lastWriteTime, appConsistent, heartbeat } = header;
  return {
    vmId,
    generation,
    sequence,
    firstWriteTime,
    lastWriteTime,
    appConsistent,
    heartbeat,
    ...(header.resyncRequired ? { resyncRequired: true } : {}),
    entries,
  };
}

/**
 * Decodes and checks a whole delta blob. The entries' data are views into `bytes`: nothing is
 * copied, so do not reuse `bytes` while the delta is in use. Zero entries carry only their length.
 */
export function decodeDelta(bytes: Uint8Array, options: DecodeDeltaOptions = {}): Delta {
  const buf = asBuffer(bytes);
  checkMaxBytes(buf.length, options.maxBytes);
  const header = parseHeader(buf);
  checkBlobLength(header, buf.length);
  checkExpectation(header, options);

  const payloadEnd = header.headerLength + header.payloadLength;
  let crc = crc32c(buf.subarray(0, header.headerLength));
  let at = header.headerLength;
  const entries: DeltaEntry[] = [];
  for (let index = 0; index < header.entryCount; index++) {
    checkEntryHeaderFits(index, header.entryCount, at, payloadEnd);
    const entryHeader = buf.subarray(at, at + ENTRY_HEADER_BYTES);
    const entry = parseEntryHeader(entryHeader, index, at, payloadEnd);
    const dataAt = at + ENTRY_HEADER_BYTES;
    if (entry.zero) {
      entries.push(zeroEntry(entry));
    } else {
      const data = buf.subarray(dataAt, dataAt + entry.dataLength);
      checkEntryData(data, entry, index, dataAt);
      entries.push({ disk: entry.disk, offset: entry.offset, data });
    }
    crc = crc32c(entryHeader, crc);
    at = dataAt + entry.dataLength;
  }
  checkPayloadEnd(header.entryCount, at, payloadEnd);
  checkTrailer(buf.subarray(at), at, crc);
  return deltaFromHeader(header, entries);
}
