import {
  CMD,
  CMD_FLAG_FUA,
  CMD_FLAG_NO_HOLE,
  MAX_PAYLOAD_SIZE,
  NBD_EINVAL,
  NBD_ENOSPC,
  commandName,
} from './constants';
import type { RequestHeader } from './messages';

/**
 * Decides, before the device is touched, whether a transmission request may be served. Pure: the
 * answer depends only on the header and the export size.
 */

export type RequestCheck =
  { ok: true; offset: number; length: number } | { ok: false; error: number; reason: string };

/** Flags each command accepts. FUA is valid on every command once SEND_FUA is advertised. */
const ALLOWED_FLAGS: Record<number, number> = {
  [CMD.READ]: CMD_FLAG_FUA,
  [CMD.WRITE]: CMD_FLAG_FUA,
  [CMD.FLUSH]: CMD_FLAG_FUA,
  [CMD.TRIM]: CMD_FLAG_FUA,
  [CMD.WRITE_ZEROES]: CMD_FLAG_FUA | CMD_FLAG_NO_HOLE,
};

/** Bytes of payload that follow the header on the wire; they must be consumed even if refused. */
export function payloadLength(header: RequestHeader): number {
  return header.type === CMD.WRITE ? header.length : 0;
}

export function checkRequest(header: RequestHeader, exportSize: number): RequestCheck {
  const allowed = ALLOWED_FLAGS[header.type];
  if (allowed === undefined) return refuse(NBD_EINVAL, `unsupported command ${commandName(header.type)}`);
  if ((header.flags & ~allowed) !== 0) {
    return refuse(
      NBD_EINVAL,
      `flags 0x${header.flags.toString(16)} not valid for ${commandName(header.type)}`,
    );
  }
  if (header.type === CMD.FLUSH) {
    if (header.offset !== 0n || header.length !== 0) return refuse(NBD_EINVAL, 'flush with offset or length');
    return { ok: true, offset: 0, length: 0 };
  }
  if ((header.type === CMD.READ || header.type === CMD.WRITE) && header.length > MAX_PAYLOAD_SIZE) {
    return refuse(NBD_EINVAL, `length ${header.length} exceeds the maximum payload ${MAX_PAYLOAD_SIZE}`);
  }
  if (header.offset + BigInt(header.length) > BigInt(exportSize)) {
    // The spec asks for ENOSPC when a write reaches past the end, EINVAL otherwise.
    const writes = header.type === CMD.WRITE || header.type === CMD.WRITE_ZEROES;
    return refuse(writes ? NBD_ENOSPC : NBD_EINVAL, 'request reaches past the end of the export');
  }
  return { ok: true, offset: Number(header.offset), length: header.length };
}

function refuse(error: number, reason: string): RequestCheck {
  return { ok: false, error, reason };
}
