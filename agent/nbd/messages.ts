import {
  EXPORT_NAME_ZEROES,
  FLAG_FIXED_NEWSTYLE,
  FLAG_NO_ZEROES,
  IHAVEOPT,
  INFO,
  MAX_PAYLOAD_SIZE,
  MIN_BLOCK_SIZE,
  NBD_MAGIC,
  OPTION_REPLY_MAGIC,
  PREFERRED_BLOCK_SIZE,
  REP,
  REQUEST_MAGIC,
  SIMPLE_REPLY_MAGIC,
} from './constants';

/** Encoders and decoders for NBD messages; pure, so the framing is testable without sockets. */

export function encodeGreeting(): Buffer {
  const out = Buffer.alloc(18);
  out.writeBigUInt64BE(NBD_MAGIC, 0);
  out.writeBigUInt64BE(IHAVEOPT, 8);
  out.writeUInt16BE(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, 16);
  return out;
}

export interface OptionHeader {
  magic: bigint;
  option: number;
  length: number;
}

export function decodeOptionHeader(header: Buffer): OptionHeader {
  return {
    magic: header.readBigUInt64BE(0),
    option: header.readUInt32BE(8),
    length: header.readUInt32BE(12),
  };
}

export function encodeOptionReply(option: number, type: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(20 + data.length);
  out.writeBigUInt64BE(OPTION_REPLY_MAGIC, 0);
  out.writeUInt32BE(option, 8);
  out.writeUInt32BE(type, 12);
  out.writeUInt32BE(data.length, 16);
  data.copy(out, 20);
  return out;
}

/** An error reply carrying a message for the user, as every NBD_REP_ERR_* may. */
export function encodeOptionError(option: number, type: number, message: string): Buffer {
  return encodeOptionReply(option, type, Buffer.from(message, 'utf8'));
}

export function encodeServerReply(option: number, name: string): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const data = Buffer.alloc(4 + nameBytes.length);
  data.writeUInt32BE(nameBytes.length, 0);
  nameBytes.copy(data, 4);
  return encodeOptionReply(option, REP.SERVER, data);
}

export function encodeInfoExport(option: number, size: number, flags: number): Buffer {
  const data = Buffer.alloc(12);
  data.writeUInt16BE(INFO.EXPORT, 0);
  data.writeBigUInt64BE(BigInt(size), 2);
  data.writeUInt16BE(flags, 10);
  return encodeOptionReply(option, REP.INFO, data);
}

export function encodeInfoString(
  option: number,
  type: typeof INFO.NAME | typeof INFO.DESCRIPTION,
  text: string,
): Buffer {
  const textBytes = Buffer.from(text, 'utf8');
  const data = Buffer.alloc(2 + textBytes.length);
  data.writeUInt16BE(type, 0);
  textBytes.copy(data, 2);
  return encodeOptionReply(option, REP.INFO, data);
}

export function encodeInfoBlockSize(option: number): Buffer {
  const data = Buffer.alloc(14);
  data.writeUInt16BE(INFO.BLOCK_SIZE, 0);
  data.writeUInt32BE(MIN_BLOCK_SIZE, 2);
  data.writeUInt32BE(PREFERRED_BLOCK_SIZE, 6);
  data.writeUInt32BE(MAX_PAYLOAD_SIZE, 10);
  return encodeOptionReply(option, REP.INFO, data);
}

/** The reply to NBD_OPT_EXPORT_NAME: size, flags, and 124 zeroes unless the client asked for none. */
export function encodeExportNameReply(size: number, flags: number, noZeroes: boolean): Buffer {
  const out = Buffer.alloc(10 + (noZeroes ? 0 : EXPORT_NAME_ZEROES));
  out.writeBigUInt64BE(BigInt(size), 0);
  out.writeUInt16BE(flags, 8);
  return out;
}

export interface InfoRequest {
  name: string;
  /** NBD_INFO_* types the client asked for. */
  requests: number[];
}

/** Parses NBD_OPT_INFO / NBD_OPT_GO data; undefined when its lengths do not add up. */
export function decodeInfoRequest(data: Buffer): InfoRequest | undefined {
  if (data.length < 6) return undefined;
  const nameLength = data.readUInt32BE(0);
  if (nameLength > data.length - 6) return undefined;
  const count = data.readUInt16BE(4 + nameLength);
  if (data.length !== 6 + nameLength + 2 * count) return undefined;
  const requests: number[] = [];
  for (let i = 0; i < count; i++) requests.push(data.readUInt16BE(6 + nameLength + 2 * i));
  return { name: data.toString('utf8', 4, 4 + nameLength), requests };
}

export interface RequestHeader {
  magic: number;
  flags: number;
  type: number;
  /** Opaque; echoed back in the reply. */
  handle: Buffer;
  /** 64-bit on the wire; may exceed Number.MAX_SAFE_INTEGER. */
  offset: bigint;
  length: number;
}

export function decodeRequestHeader(header: Buffer): RequestHeader {
  return {
    magic: header.readUInt32BE(0),
    flags: header.readUInt16BE(4),
    type: header.readUInt16BE(6),
    handle: Buffer.from(header.subarray(8, 16)),
    offset: header.readBigUInt64BE(16),
    length: header.readUInt32BE(24),
  };
}

export function isRequestMagic(header: RequestHeader): boolean {
  return header.magic === REQUEST_MAGIC;
}

export function encodeSimpleReply(handle: Buffer, error: number): Buffer {
  const out = Buffer.alloc(16);
  out.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
  out.writeUInt32BE(error, 4);
  handle.copy(out, 8);
  return out;
}
