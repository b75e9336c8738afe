import type { Logger } from '../../shared/logger';
import {
  FLAG_C_FIXED_NEWSTYLE,
  FLAG_C_NO_ZEROES,
  IHAVEOPT,
  INFO,
  KNOWN_CLIENT_FLAGS,
  MAX_OPTION_LENGTH,
  MAX_STRING_LENGTH,
  OPT,
  OPTION_HEADER_LENGTH,
  REP,
  TRANSMISSION_FLAGS,
  optionName,
} from './constants';
import { protocolViolation } from './errors';
import type { ExportTable, ResolvedExport } from './exportTable';
import {
  decodeInfoRequest,
  decodeOptionHeader,
  encodeExportNameReply,
  encodeGreeting,
  encodeInfoBlockSize,
  encodeInfoExport,
  encodeInfoString,
  encodeOptionError,
  encodeOptionReply,
  encodeServerReply,
} from './messages';
import type { SocketWire } from './wire';

/**
 * Newstyle (fixed) negotiation: greeting, client flags, then options until the client picks an
 * export (EXPORT_NAME or GO) or aborts. Throws a protocol violation where the spec lets the server
 * hang up.
 */

export interface HandshakeContext {
  wire: SocketWire;
  exports: ExportTable;
  logger: Logger;
}

/** The export the client chose, or undefined when it aborted the negotiation. */
export async function negotiate(ctx: HandshakeContext): Promise<ResolvedExport | undefined> {
  const { wire, logger } = ctx;
  await wire.write(encodeGreeting());
  const clientFlags = (await wire.read(4)).readUInt32BE(0);
  if ((clientFlags & ~KNOWN_CLIENT_FLAGS) !== 0) {
    throw protocolViolation(`unknown client flags 0x${clientFlags.toString(16)}`, { clientFlags });
  }
  const fixed = (clientFlags & FLAG_C_FIXED_NEWSTYLE) !== 0;
  const noZeroes = (clientFlags & FLAG_C_NO_ZEROES) !== 0;

  for (;;) {
    const header = decodeOptionHeader(await wire.read(OPTION_HEADER_LENGTH));
    if (header.magic !== IHAVEOPT)
      throw protocolViolation('bad option magic', { magic: header.magic.toString(16) });
    if (header.length > MAX_OPTION_LENGTH) {
      throw protocolViolation(`option data of ${header.length} bytes is too long`, { option: header.option });
    }
    const data = await wire.read(header.length);
    logger.debug('nbd option', { option: optionName(header.option), length: header.length });

    if (header.option === OPT.EXPORT_NAME) return exportName(ctx, data, noZeroes);
    // Plain newstyle clients can only send EXPORT_NAME and cannot parse option replies.
    if (!fixed) throw protocolViolation(`option ${optionName(header.option)} without fixed newstyle`);

    switch (header.option) {
      case OPT.ABORT:
        await wire.write(encodeOptionReply(header.option, REP.ACK));
        return undefined;
      case OPT.LIST:
        await list(ctx, header.option, data);
        break;
      case OPT.INFO:
      case OPT.GO: {
        const chosen = await info(ctx, header.option, data);
        if (chosen && header.option === OPT.GO) return chosen;
        break;
      }
      default:
        // STRUCTURED_REPLY, STARTTLS, meta contexts, extended headers and anything newer.
        await wire.write(
          encodeOptionError(
            header.option,
            REP.ERR_UNSUP,
            `option ${optionName(header.option)} is not supported`,
          ),
        );
    }
  }
}

async function exportName(ctx: HandshakeContext, data: Buffer, noZeroes: boolean): Promise<ResolvedExport> {
  const requested = data.toString('utf8');
  const chosen = ctx.exports.resolve(requested);
  // EXPORT_NAME has no way to report an error: the spec says to hang up.
  if (!chosen) throw protocolViolation(`unknown export '${requested}'`, { export: requested });
  await ctx.wire.write(encodeExportNameReply(chosen.device.size, TRANSMISSION_FLAGS, noZeroes));
  return chosen;
}

async function list(ctx: HandshakeContext, option: number, data: Buffer): Promise<void> {
  if (data.length !== 0) {
    await ctx.wire.write(encodeOptionError(option, REP.ERR_INVALID, 'NBD_OPT_LIST takes no data'));
    return;
  }
  for (const name of ctx.exports.names()) await ctx.wire.write(encodeServerReply(option, name));
  await ctx.wire.write(encodeOptionReply(option, REP.ACK));
}

/** Answers INFO or GO; returns the export when the reply was a success. */
async function info(
  ctx: HandshakeContext,
  option: number,
  data: Buffer,
): Promise<ResolvedExport | undefined> {
  const { wire } = ctx;
  const request = decodeInfoRequest(data);
  if (!request || Buffer.byteLength(request.name) > MAX_STRING_LENGTH) {
    await wire.write(encodeOptionError(option, REP.ERR_INVALID, `malformed ${optionName(option)} request`));
    return undefined;
  }
  const chosen = ctx.exports.resolve(request.name);
  if (!chosen) {
    await wire.write(encodeOptionError(option, REP.ERR_UNKNOWN, `unknown export '${request.name}'`));
    return undefined;
  }
  const replies = [encodeInfoExport(option, chosen.device.size, TRANSMISSION_FLAGS)];
  if (request.requests.includes(INFO.NAME)) replies.push(encodeInfoString(option, INFO.NAME, chosen.name));
  if (request.requests.includes(INFO.DESCRIPTION)) {
    replies.push(encodeInfoString(option, INFO.DESCRIPTION, `tidemark disk ${chosen.device.name}`));
  }
  // Sent even when not asked for, as qemu-nbd does; our minimum of 1 binds no client.
  replies.push(encodeInfoBlockSize(option));
  replies.push(encodeOptionReply(option, REP.ACK));
  await wire.write(Buffer.concat(replies));
  return chosen;
}
