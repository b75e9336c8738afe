import { crc32c } from '@node-rs/crc32';

import { TidemarkError } from '../errors';
import { isU64 } from './bytes';
import { ChunkReader } from './chunkReader';
import { ENTRY_HEADER_BYTES, HEADER_PREFIX_BYTES, TRAILER_BYTES } from './constants';
import { checkEntryData, checkEntryHeaderFits, checkPayloadEnd, parseEntryHeader, zeroEntry } from './entry';
import { parseHeader, parseHeaderPrefix } from './header';
import { checkBlobLength, checkExpectation, checkMaxBytes } from './headerChecks';
import { checkTrailer } from './trailer';
import type { DecodeDeltaStreamOptions, DeltaStreamItem } from './types';

/**
 * Decodes a delta blob as its bytes arrive: yields the checked header, then each entry once its
 * data CRC32C checks out, then checks the trailer and that the source ends. The entries' disk and
 * offset are vouched for by the trailer only, so nothing is final until the generator completes;
 * an applier must not act on a delta whose stream threw.
 *
 * Allocates the header, each data entry's data and one 20-byte (ENTRY_HEADER_BYTES) scratch
 * buffer, each only after checking it fits in `blobLength` (and `blobLength` against `maxBytes`),
 * whatever the header claims: never more than `blobLength + ENTRY_HEADER_BYTES` bytes in all. A
 * zero entry allocates nothing, whatever its length. The source is closed when the generator ends,
 * however it ends.
 */
export async function* decodeDeltaStream(
  source: AsyncIterable<Uint8Array>,
  options: DecodeDeltaStreamOptions,
): AsyncGenerator<DeltaStreamItem, void, undefined> {
  const { blobLength } = options;
  const iterator = source[Symbol.asyncIterator]();
  try {
    if (!isU64(blobLength)) {
      throw new TidemarkError('InvalidArgument', `blobLength ${blobLength} is not a byte count`, {
        details: { field: 'blobLength', value: blobLength },
      });
    }
    checkMaxBytes(blobLength, options.maxBytes);
    const reader = new ChunkReader(iterator, blobLength);
    const scratch = Buffer.allocUnsafe(ENTRY_HEADER_BYTES);
    const prefix = scratch.subarray(0, Math.min(HEADER_PREFIX_BYTES, blobLength));
    await reader.readInto(prefix, 0);
    const headerLength = parseHeaderPrefix(prefix);
    reader.checkFits(headerLength - prefix.length);
    const headerBytes = Buffer.allocUnsafe(headerLength);
    prefix.copy(headerBytes);
    await reader.readInto(headerBytes, prefix.length);
    const header = parseHeader(headerBytes);
    checkBlobLength(header, blobLength);
    checkExpectation(header, options.expect);
    yield { type: 'header', header };

    const payloadEnd = header.headerLength + header.payloadLength;
    let crc = crc32c(headerBytes);
    for (let index = 0; index < header.entryCount; index++) {
      const at = reader.offset;
      checkEntryHeaderFits(index, header.entryCount, at, payloadEnd);
      await reader.readInto(scratch, 0);
      const entry = parseEntryHeader(scratch, index, at, payloadEnd);
      crc = crc32c(scratch, crc);
      if (entry.zero) {
        // No data follows, and nothing is allocated for the range, however long.
        yield { type: 'entry', index, entry: zeroEntry(entry) };
        continue;
      }
      const data = await reader.read(entry.dataLength);
      checkEntryData(data, entry, index, at + ENTRY_HEADER_BYTES);
      yield { type: 'entry', index, entry: { disk: entry.disk, offset: entry.offset, data } };
    }
    checkPayloadEnd(header.entryCount, reader.offset, payloadEnd);
    const trailerAt = reader.offset;
    const trailer = scratch.subarray(0, TRAILER_BYTES);
    await reader.readInto(trailer, 0);
    checkTrailer(trailer, trailerAt, crc);
    await reader.expectEnd();
  } finally {
    await iterator.return?.();
  }
}
