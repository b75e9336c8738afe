import { ensureError, isTidemarkError, TidemarkError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import type { BlockDevice } from '../blockDevice';
import {
  CMD,
  CMD_FLAG_FUA,
  CMD_FLAG_NO_HOLE,
  NBD_EINVAL,
  NBD_EIO,
  REQUEST_HEADER_LENGTH,
  commandName,
} from './constants';
import { protocolViolation } from './errors';
import { decodeRequestHeader, encodeSimpleReply, isRequestMagic, type RequestHeader } from './messages';
import { checkRequest, payloadLength } from './requests';
import type { SocketWire } from './wire';

/**
 * The transmission phase: one request at a time, in arrival order, so the device (and the journal
 * behind it) sees writes, trims, zeroes and flushes exactly as the client sent them. The socket is
 * paused while a request is served, which is the back-pressure.
 */

export interface TransmissionContext {
  wire: SocketWire;
  device: BlockDevice;
  logger: Logger;
  /** Told when a request starts and ends being served, so shutdown can wait for it. */
  setBusy(busy: boolean): void;
  /** True once the server is closing: finish the current request, then stop. */
  stopping(): boolean;
}

export interface TransmissionStats {
  requests: number;
  bytesRead: number;
  bytesWritten: number;
  errors: number;
}

/** Serves requests until the client disconnects (NBD_CMD_DISC) or the server stops. */
export async function serveTransmission(ctx: TransmissionContext, stats: TransmissionStats): Promise<void> {
  while (!ctx.stopping()) {
    const header = decodeRequestHeader(await ctx.wire.read(REQUEST_HEADER_LENGTH));
    // Shutdown began while we waited: the request arrived too late to be served.
    if (ctx.stopping()) return;
    if (!isRequestMagic(header)) {
      throw protocolViolation('bad request magic', { magic: header.magic.toString(16) });
    }
    if (header.type === CMD.DISC) return;
    await serveRequest(ctx, header, stats);
  }
}

async function serveRequest(
  ctx: TransmissionContext,
  header: RequestHeader,
  stats: TransmissionStats,
): Promise<void> {
  const { wire, device } = ctx;
  stats.requests++;
  const check = checkRequest(header, device.size);
  if (!check.ok) {
    // Drop a refused write's payload unread: skip() holds no more than one socket chunk.
    await wire.skip(payloadLength(header));
    stats.errors++;
    ctx.logger.debug('nbd request refused', {
      command: commandName(header.type),
      offset: header.offset.toString(),
      length: header.length,
      reason: check.reason,
    });
    await wire.write(encodeSimpleReply(header.handle, check.error));
    return;
  }
  const payload = header.type === CMD.WRITE ? await wire.read(check.length) : undefined;
  if (ctx.stopping()) return;
  // In flight from here: shutdown waits for the device and the reply, not for a slow client's payload.
  ctx.setBusy(true);
  try {
    await performAndReply(ctx, header, check.offset, check.length, payload, stats);
  } finally {
    ctx.setBusy(false);
  }
}

async function performAndReply(
  ctx: TransmissionContext,
  header: RequestHeader,
  offset: number,
  length: number,
  payload: Buffer | undefined,
  stats: TransmissionStats,
): Promise<void> {
  const { wire, device } = ctx;
  let data: Buffer | undefined;
  try {
    data = await perform(device, header, offset, length, payload);
  } catch (error) {
    stats.errors++;
    ctx.logger.warn('nbd device error', {
      command: commandName(header.type),
      offset,
      length,
      error: ensureError(error).message,
    });
    await wire.write(encodeSimpleReply(header.handle, errorValue(error)));
    return;
  }
  if (header.type === CMD.READ) stats.bytesRead += length;
  if (header.type === CMD.WRITE) stats.bytesWritten += length;
  const reply = encodeSimpleReply(header.handle, 0);
  await (data ? wire.write(reply, data) : wire.write(reply));
}

/** Runs one validated request against the device; returns the data of a read. */
async function perform(
  device: BlockDevice,
  header: RequestHeader,
  offset: number,
  length: number,
  payload: Buffer | undefined,
): Promise<Buffer | undefined> {
  const fua = (header.flags & CMD_FLAG_FUA) !== 0;
  // A zero-length request touches nothing; only FLUSH means something without a range.
  if (length === 0 && header.type !== CMD.FLUSH) return undefined;
  switch (header.type) {
    case CMD.READ: {
      const data = await device.read(offset, length);
      if (data.length !== length) {
        // A short read would desynchronise the stream: the client expects exactly `length` bytes.
        throw new TidemarkError('Internal', `device returned ${data.length} bytes for a ${length}-byte read`);
      }
      return data;
    }
    case CMD.WRITE:
      await device.write(offset, payload!, { fua });
      return undefined;
    case CMD.FLUSH:
      await device.flush();
      return undefined;
    case CMD.TRIM:
      await device.trim(offset, length);
      // trim() has no FUA option; a flush right after it gives the same guarantee.
      if (fua) await device.flush();
      return undefined;
    case CMD.WRITE_ZEROES:
      await device.writeZeroes(offset, length, { fua, mayTrim: (header.flags & CMD_FLAG_NO_HOLE) === 0 });
      return undefined;
    default:
      throw new TidemarkError('Internal', `unexpected command ${commandName(header.type)}`);
  }
}

function errorValue(error: unknown): number {
  return isTidemarkError(error, 'InvalidArgument') ? NBD_EINVAL : NBD_EIO;
}
