/** Fixed numbers of delta format version 1; docs/delta-format.md draws the layout. */

/** ASCII "TDMDELTA". */
export const DELTA_MAGIC: Buffer = Buffer.from('TDMDELTA', 'latin1');
export const DELTA_VERSION = 1;

/** The header up to the VM id; the VM id and the header CRC follow. */
export const FIXED_HEADER_BYTES = 60;
export const HEADER_CRC_BYTES = 4;
/** Enough to know how long the whole header is: magic, version, flags, header length, VM id length. */
export const HEADER_PREFIX_BYTES = 16;
export const MAX_VM_ID_BYTES = 256;
/** Read this many bytes and readDeltaHeader never needs more. */
export const MAX_HEADER_BYTES = FIXED_HEADER_BYTES + MAX_VM_ID_BYTES + HEADER_CRC_BYTES;

/** disk u16, flags u16, offset u64, length u32, data CRC32C u32. */
export const ENTRY_HEADER_BYTES = 20;
export const TRAILER_BYTES = 4;

/** Page blobs are written in 512-byte pages. */
export const SECTOR_BYTES = 512;
/** The Put Page limit: one entry is at most one Put Page call. */
export const MAX_ENTRY_BYTES = 4 * 1024 * 1024;
/** The largest range one zero entry clears (one Clear Pages call); it carries no data bytes. */
export const MAX_ZERO_ENTRY_BYTES = 1024 * 1024 * 1024;

export const FLAG_APP_CONSISTENT = 0x0001;
export const FLAG_HEARTBEAT = 0x0002;
/** The agent may have lost writes it had acknowledged before this delta (it stopped uncleanly). */
export const FLAG_RESYNC_REQUIRED = 0x0004;
/** Bits 4-7 hold the compression codec of the entry data; version 1 knows only 0 = none. */
export const COMPRESSION_SHIFT = 4;
export const COMPRESSION_MASK = 0x00f0;
export const COMPRESSION_NONE = 0;
export const KNOWN_FLAGS = FLAG_APP_CONSISTENT | FLAG_HEARTBEAT | FLAG_RESYNC_REQUIRED | COMPRESSION_MASK;

/** Entry flag bit 0: a zero range (TRIM / WRITE_ZEROES). No data follows; the CRC field is 0. */
export const ENTRY_FLAG_ZERO = 0x0001;
export const KNOWN_ENTRY_FLAGS = ENTRY_FLAG_ZERO;

/** Byte offsets of the header fields. */
export const HEADER = {
  magic: 0,
  version: 8,
  flags: 10,
  headerLength: 12,
  vmIdLength: 14,
  generation: 16,
  sequence: 24,
  firstWriteTime: 32,
  lastWriteTime: 40,
  payloadLength: 48,
  entryCount: 56,
  vmId: 60,
} as const;

/** Byte offsets of the fields inside an entry header. */
export const ENTRY = {
  disk: 0,
  flags: 2,
  offset: 4,
  length: 12,
  crc: 16,
} as const;
