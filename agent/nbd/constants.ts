/**
 * NBD protocol numbers, as in the NBD protocol spec (NetworkBlockDevice/nbd doc/proto.md). All
 * integers on the wire are big-endian.
 */

export const NBD_MAGIC = 0x4e42444d41474943n; // 'NBDMAGIC'
export const IHAVEOPT = 0x49484156454f5054n; // 'IHAVEOPT'
export const OPTION_REPLY_MAGIC = 0x3e889045565a9n;
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;

/** Handshake flags (server, 16 bits). */
export const FLAG_FIXED_NEWSTYLE = 1 << 0;
export const FLAG_NO_ZEROES = 1 << 1;

/** Client flags (32 bits). */
export const FLAG_C_FIXED_NEWSTYLE = 1 << 0;
export const FLAG_C_NO_ZEROES = 1 << 1;
export const KNOWN_CLIENT_FLAGS = FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES;

/** Transmission flags (16 bits). */
export const FLAG_HAS_FLAGS = 1 << 0;
export const FLAG_READ_ONLY = 1 << 1;
export const FLAG_SEND_FLUSH = 1 << 2;
export const FLAG_SEND_FUA = 1 << 3;
export const FLAG_ROTATIONAL = 1 << 4;
export const FLAG_SEND_TRIM = 1 << 5;
export const FLAG_SEND_WRITE_ZEROES = 1 << 6;
export const FLAG_SEND_DF = 1 << 7;
export const FLAG_CAN_MULTI_CONN = 1 << 8;

/**
 * What every export offers. No CAN_MULTI_CONN: a BlockDevice does not promise that a flush on one
 * connection covers writes acknowledged on another, so clients must not spread writes over several.
 */
export const TRANSMISSION_FLAGS =
  FLAG_HAS_FLAGS | FLAG_SEND_FLUSH | FLAG_SEND_FUA | FLAG_SEND_TRIM | FLAG_SEND_WRITE_ZEROES;

export const OPT = {
  EXPORT_NAME: 1,
  ABORT: 2,
  LIST: 3,
  PEEK_EXPORT: 4,
  STARTTLS: 5,
  INFO: 6,
  GO: 7,
  STRUCTURED_REPLY: 8,
  LIST_META_CONTEXT: 9,
  SET_META_CONTEXT: 10,
  EXTENDED_HEADERS: 11,
} as const;

const REP_ERR = 2 ** 31;
export const REP = {
  ACK: 1,
  SERVER: 2,
  INFO: 3,
  ERR_UNSUP: REP_ERR + 1,
  ERR_POLICY: REP_ERR + 2,
  ERR_INVALID: REP_ERR + 3,
  ERR_PLATFORM: REP_ERR + 4,
  ERR_TLS_REQD: REP_ERR + 5,
  ERR_UNKNOWN: REP_ERR + 6,
  ERR_SHUTDOWN: REP_ERR + 7,
  ERR_BLOCK_SIZE_REQD: REP_ERR + 8,
  ERR_TOO_BIG: REP_ERR + 9,
} as const;

export const INFO = {
  EXPORT: 0,
  NAME: 1,
  DESCRIPTION: 2,
  BLOCK_SIZE: 3,
} as const;

export const CMD = {
  READ: 0,
  WRITE: 1,
  DISC: 2,
  FLUSH: 3,
  TRIM: 4,
  CACHE: 5,
  WRITE_ZEROES: 6,
  BLOCK_STATUS: 7,
} as const;

export const CMD_FLAG_FUA = 1 << 0;
export const CMD_FLAG_NO_HOLE = 1 << 1;
export const CMD_FLAG_DF = 1 << 2;
export const CMD_FLAG_REQ_ONE = 1 << 3;
export const CMD_FLAG_FAST_ZERO = 1 << 4;

/** Error values of a simple reply. */
export const NBD_EPERM = 1;
export const NBD_EIO = 5;
export const NBD_ENOMEM = 12;
export const NBD_EINVAL = 22;
export const NBD_ENOSPC = 28;
export const NBD_EOVERFLOW = 75;
export const NBD_ESHUTDOWN = 108;

/** Block size constraints we advertise with NBD_INFO_BLOCK_SIZE. */
export const MIN_BLOCK_SIZE = 1;
export const PREFERRED_BLOCK_SIZE = 4096;
/** Largest READ/WRITE payload; never allocate more than this for one request. */
export const MAX_PAYLOAD_SIZE = 32 * 1024 * 1024;

/** Largest option payload we read during the handshake (export names are at most 4096 bytes). */
export const MAX_OPTION_LENGTH = 64 * 1024;
/** Longest string (export name, message) the spec allows. */
export const MAX_STRING_LENGTH = 4096;

export const HANDSHAKE_GREETING_LENGTH = 18;
export const OPTION_HEADER_LENGTH = 16;
export const REQUEST_HEADER_LENGTH = 28;
export const SIMPLE_REPLY_LENGTH = 16;
export const EXPORT_NAME_ZEROES = 124;

/** A name for logs, e.g. optionName(7) === 'GO'. */
export function optionName(option: number): string {
  return nameOf(OPT, option);
}

export function commandName(command: number): string {
  return nameOf(CMD, command);
}

function nameOf(table: Record<string, number>, value: number): string {
  return Object.entries(table).find(([, v]) => v === value)?.[0] ?? `unknown(${value})`;
}
