/**
 * The file of an NBD unix socket: claimed before listening (a stale socket left by a killed agent is
 * removed, a live one or any other file is never touched) and removed on close if it is still ours.
 */
import fs from 'node:fs';
import { connect } from 'node:net';

import { TidemarkError } from '../../shared/errors';

/** sockaddr_un holds 108 bytes on Linux (104 elsewhere) with the NUL; a longer path is silently cut. */
export const MAX_SOCKET_PATH_BYTES = process.platform === 'linux' ? 107 : 103;

/** Makes `socketPath` free to listen on, removing a socket nobody listens on any more. */
export async function claimSocketPath(socketPath: string): Promise<void> {
  const bytes = Buffer.byteLength(socketPath);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new TidemarkError(
      'InvalidConfig',
      `The socket path ${socketPath} is ${bytes} bytes long; a unix socket path holds at most ${MAX_SOCKET_PATH_BYTES}.`,
      { hint: 'Pick a shorter path, e.g. in /run or /tmp.', details: { socketPath } },
    );
  }
  let stat: fs.Stats;
  try {
    stat = await fs.promises.lstat(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!stat.isSocket()) {
    throw new TidemarkError('InvalidConfig', `${socketPath} exists and is not a socket; not replacing it.`, {
      hint: 'Pick another --nbd-socket path, or remove that file yourself.',
      details: { socketPath },
    });
  }
  if (await isListening(socketPath)) {
    throw new TidemarkError('Conflict', `Another server is listening on the socket ${socketPath}.`, {
      hint: 'Stop it (one agent per VM), or pick another --nbd-socket path.',
      details: { socketPath },
    });
  }
  await fs.promises.rm(socketPath, { force: true });
}

/** The socket file's identity once listening, so close removes only the file it created. */
export function socketInode(socketPath: string): number | undefined {
  try {
    return fs.lstatSync(socketPath).ino;
  } catch {
    return undefined;
  }
}

/** Removes the socket file if it is still the one with `inode` (Node normally already did). */
export function releaseSocketPath(socketPath: string, inode: number | undefined): void {
  if (inode !== undefined && socketInode(socketPath) === inode) fs.rmSync(socketPath, { force: true });
}

function isListening(socketPath: string): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const probe = connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(false);
      else reject(err);
    });
  });
}
