import { crc32c } from '@node-rs/crc32';

import { ENTRY_HEADER_BYTES, TRAILER_BYTES } from './constants';
import { invalidDelta } from './deltaErrors';
import { encodedEntryBytes, writeEntry } from './entry';
import { headerLengthFor, writeHeader } from './header';
import { writeTrailer } from './trailer';
import type { Delta, EncodeDeltaOptions } from './types';
import { validateDelta } from './validate';

/** Encodes `delta` as a version 1 blob; throws InvalidArgument for input the format cannot carry. */
export function encodeDelta(delta: Delta, options: EncodeDeltaOptions = {}): Buffer {
  validateDelta(delta);
  const vmId = Buffer.from(delta.vmId, 'utf8');
  const headerLength = headerLengthFor(vmId.length);
  let payloadLength = 0;
  for (const entry of delta.entries) payloadLength += encodedEntryBytes(entry);
  const blobLength = headerLength + payloadLength + TRAILER_BYTES;
  if (options.maxBytes !== undefined && blobLength > options.maxBytes) {
    throw invalidDelta(
      'entries',
      `make a ${blobLength}-byte blob, more than maxBytes ${options.maxBytes}`,
      blobLength,
    );
  }

  const buf = Buffer.allocUnsafe(blobLength);
  writeHeader(buf, delta, vmId, payloadLength);
  let crc = crc32c(buf.subarray(0, headerLength));
  let at = headerLength;
  for (const entry of delta.entries) {
    const next = writeEntry(buf, at, entry);
    crc = crc32c(buf.subarray(at, at + ENTRY_HEADER_BYTES), crc);
    at = next;
  }
  writeTrailer(buf, at, crc);
  return buf;
}
