import { createServer, type AddressInfo, type Socket } from 'node:net';
import { SystemClock, type Clock } from '../../shared/clock';
import { ensureError, TidemarkError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { NbdConnection } from './connection';
import { ExportTable, type ExportSource } from './exportTable';

export interface NbdServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port; the chosen one is in the result. */
  port?: number;
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
  readonly port: number;
  /** Stops listening, lets requests being served finish, then ends every connection. */
  close(): Promise<void>;
}

export async function startNbdServer(options: NbdServerOptions): Promise<NbdServer> {
  const host = options.host ?? '127.0.0.1';
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
      logger: logger.child({ connection: id, remote: `${socket.remoteAddress}:${socket.remotePort}` }),
    });
    connections.add(connection);
    void connection.closed.then(() => connections.delete(connection));
    connection.start();
  });
  server.on('error', (error) => logger.error('nbd server error', { error: error.message }));

  await listen(server, host, options.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  logger.info('nbd server listening', { host, port });

  const close = async (): Promise<void> => {
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const connection of connections) connection.stop();
    await Promise.all([...connections].map((connection) => connection.closed));
    await stopped;
    logger.info('nbd server closed', { port });
  };
  return {
    port,
    close: () => (closing ??= close()),
  };
}

function listen(server: ReturnType<typeof createServer>, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(
        new TidemarkError('InvalidConfig', `NBD server cannot listen on ${host}:${port}: ${error.message}`, {
          cause: ensureError(error),
          hint: 'Pick another port, or 0 for any free one.',
          details: { host, port },
        }),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
