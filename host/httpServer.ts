/**
 * The host's one HTTP listener. Plugins mount handlers (the HTTP trigger under routePrefix, the
 * durable webhooks under /runtime/webhooks/durabletask, admin routes); the first handler that
 * claims a request answers it. Unclaimed requests get 404. Tracks requests in flight so the host
 * can drain on shutdown.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Logger } from '../shared/logger';

export type RouteHandler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
) => Promise<boolean>;

export interface HttpRouter {
  /** Adds a handler; handlers are tried in the order they were added. */
  use(handler: RouteHandler): void;
}

/** How long an idle keep-alive connection stays open (Kestrel's KeepAliveTimeout, 130 s). */
export const KEEP_ALIVE_TIMEOUT_MS = 130_000;

export class HostHttpServer implements HttpRouter {
  readonly #handlers: RouteHandler[] = [];
  readonly #server: http.Server;
  #inFlight = 0;
  #idle: (() => void)[] = [];
  #closing = false;

  constructor(private readonly logger: Logger) {
    this.#server = http.createServer((req, res) => void this.#dispatch(req, res));
    // Kestrel's default, as the Functions host in Azure keeps idle connections. Node's 5 s races
    // keep-alive clients: a request sent as the server closes the socket fails with a hang-up.
    this.#server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  }

  use(handler: RouteHandler): void {
    this.#handlers.push(handler);
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    return (this.#server.address() as AddressInfo).port;
  }

  /** Stops accepting connections, waits for requests in flight, then closes idle sockets. */
  async close(): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    this.#server.closeAllConnections();
    await closed;
  }

  async #dispatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.#inFlight++;
    if (this.#closing) res.setHeader('connection', 'close');
    try {
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
      for (const handler of this.#handlers) {
        if (await handler(req, res, url)) return;
      }
      sendProblem(res, 404, 'Not Found', `No function or endpoint answers ${req.method} ${url.pathname}.`);
    } catch (err) {
      this.logger.error('HTTP request failed in the host', { err: (err as Error)?.stack ?? String(err) });
      if (!res.headersSent)
        sendProblem(res, 500, 'Internal Server Error', 'The host failed to handle the request.');
      else res.destroy();
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
    }
  }
}

export function sendProblem(res: http.ServerResponse, status: number, title: string, detail: string): void {
  const body = JSON.stringify({ type: 'about:blank', title, status, detail });
  res.writeHead(status, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

export async function readBody(req: http.IncomingMessage, limit = 100 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw Object.assign(new Error('Request body too large'), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
