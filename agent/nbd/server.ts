import { createServer, type AddressInfo, type Socket } from 'node:net';
import { SystemClock, type Clock } from '../../shared/clock';
import { ensureError, TidemarkError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { NbdConnection } from './connection';
import { ExportTable, type ExportSource } from './exportTable';
import { claimSocketPath, releaseSocketPath, socketInode } from './unixSocket';

export interface NbdServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port; the chosen one is in the result. */
  port?: number;
  /**
   * Listen on this unix socket instead of TCP (host and port are then ignored). A stale socket file
   * is removed first; the file is removed on close.
   */
  socketPath?: string;
  /** The disks to serve, by export name; a function is asked again at every lookup. */
  exports: ExportSource;
  logger: Logger;
  /** The export a client gets when it asks for the empty ("default") name. */
  defaultExport?: string;
  /** A client must pick an export within this time. Default 30 s. */
  handshakeTimeoutMs?: number;
  clock?: Clock;
}

export interface NbdServer {
  /** The TCP port; 0 on a unix socket. */
  readonly port: number;
  readonly socketPath?: string;
  /** `nbd://HOST:PORT` or `nbd+unix:///?socket=PATH`: where clients connect (the default export). */
  readonly uri: string;
  /** Stops listening, lets requests being served finish, then ends every connection. */
  close(): Promise<void>;
}

export async function startNbdServer(options: NbdServerOptions): Promise<NbdServer> {
  const host = options.host ?? '127.0.0.1';
  const socketPath = options.socketPath;
  const logger = options.logger.child({ component: 'nbd' });
  const exports = new ExportTable(options.exports, options.defaultExport);
  const clock = options.clock ?? new SystemClock();
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 30_000;
  const connections = new Set<NbdConnection>();
  let closing: Promise<void> | undefined;
  let nextId = 1;

  const server = createServer({ pauseOnConnect: true, noDelay: true });
  server.on('connection', (socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    const id = nextId++;
    // Finds clients that vanished without a FIN (a crashed VM, a dropped network).
    socket.setKeepAlive(true, 60_000);
    const connection = new NbdConnection({
      socket,
      exports,
      clock,
      handshakeTimeoutMs,
      logger: logger.child({
        connection: id,
        remote: socketPath ? 'unix' : `${socket.remoteAddress}:${socket.remotePort}`,
      }),
    });
    connections.add(connection);
    void connection.closed.then(() => connections.delete(connection));
    connection.start();
  });
  server.on('error', (error) => logger.error('nbd server error', { error: error.message }));

  if (socketPath !== undefined) await claimSocketPath(socketPath);
  const where = socketPath !== undefined ? { path: socketPath } : { host, port: options.port ?? 0 };
  await listen(server, where);
  const port = socketPath !== undefined ? 0 : (server.address() as AddressInfo).port;
  const inode = socketPath !== undefined ? socketInode(socketPath) : undefined;
  const uri = socketPath !== undefined ? unixUri(socketPath) : tcpUri(host, port);
  logger.info('nbd server listening', { uri });

  const close = async (): Promise<void> => {
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const connection of connections) connection.stop();
    await Promise.all([...connections].map((connection) => connection.closed));
    await stopped;
    if (socketPath !== undefined) releaseSocketPath(socketPath, inode);
    logger.info('nbd server closed', { uri });
  };
  return {
    port,
    ...(socketPath !== undefined ? { socketPath } : {}),
    uri,
    close: () => (closing ??= close()),
  };
}

function tcpUri(host: string, port: number): string {
  return `nbd://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The NBD URI form (qemu, libnbd): the socket path is a query value, so escape what would end it. */
function unixUri(socketPath: string): string {
  return `nbd+unix:///?socket=${encodeURIComponent(socketPath).replace(/%2F/g, '/')}`;
}

type ListenOn = { host: string; port: number } | { path: string };

function listen(server: ReturnType<typeof createServer>, where: ListenOn): Promise<void> {
  const label = 'path' in where ? `the socket ${where.path}` : `${where.host}:${where.port}`;
  return new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(
        new TidemarkError('InvalidConfig', `NBD server cannot listen on ${label}: ${error.message}`, {
          cause: ensureError(error),
          hint:
            'path' in where
              ? 'Pick a socket path in a directory that exists and that you can write to.'
              : 'Pick another port, or 0 for any free one.',
          details: { ...where },
        }),
      );
    };
    server.once('error', onError);
    server.listen(where, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
