import { deltaError, hex } from './deltaErrors';

/**
 * The trailer is one CRC32C over the whole header and every entry header in order (the "entry
 * table"), folded in as they pass: `crc = crc32c(entryHeader, crc)`. Each entry header carries its
 * data's CRC32C, so the trailer vouches for every byte before it.
 */
export function writeTrailer(buf: Buffer, at: number, crc: number): void {
  buf.writeUInt32LE(crc, at);
}

/** `trailer` holds the 4 trailer bytes found at blob offset `at`. */
export function checkTrailer(trailer: Buffer, at: number, crc: number): void {
  const expected = trailer.readUInt32LE(0);
  if (expected !== crc) {
    throw deltaError(
      'DeltaBadChecksum',
      `delta header and entry table CRC32C is ${hex(crc)}, the trailer says ${hex(expected)}`,
      { at, part: 'trailer', expected, actual: crc },
    );
  }
}
