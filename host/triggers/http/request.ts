/**
 * An incoming request in the worker's RPC form, as the Functions host builds it (ToRpcHttp):
 * absolute URL, lower-case headers without empty values, query values joined with ",", route
 * values, and the body as raw bytes when there is one.
 */
import type http from 'node:http';

import type { RpcHttpData } from '../../core/rpcTypes';

/** Whether the request carries a body (a Content-Length other than 0, or chunked). */
export function hasBody(req: http.IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Reads the whole body, up to `limit` bytes. A body over the limit resolves undefined as soon as
 * that is known (at once when Content-Length says so, else when the limit is crossed), so the caller
 * can answer 413 without waiting: nothing more is stored, and the rest of the upload is read and
 * dropped (Node bounds that by the server's requestTimeout), which keeps the connection intact for
 * the answer.
 */
export function readRequestBody(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  if (!hasBody(req)) return Promise.resolve(Buffer.alloc(0));
  const declared = Number(req.headers['content-length']);
  if (req.headers['transfer-encoding'] === undefined && Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      chunks.length = 0;
      req.off('data', onData);
      req.resume();
      resolve(undefined);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (size <= limit) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.once('error', reject);
    // An aborted upload may end with 'close' alone; never leave the caller waiting.
    req.once('close', () => {
      if (!req.complete) reject(new Error('The client aborted the request.'));
    });
  });
}

export interface ConvertedRequest {
  http: RpcHttpData;
  /** Values for binding expressions: query values, then route values, plus Query and Headers. */
  bindingData: Record<string, unknown>;
}

export function toRpcRequest(
  req: http.IncomingMessage,
  url: URL,
  params: Record<string, string>,
  body: Buffer | undefined,
): ConvertedRequest {
  const headers: Record<string, string> = {};
  const incoming = req.headers;
  for (const key of Object.keys(incoming)) {
    const value = incoming[key];
    const text = Array.isArray(value) ? value.join(', ') : value;
    if (text) setOwn(headers, key, text);
  }
  const query: Record<string, string> = {};
  // An empty query string has no parameters; skip building URLSearchParams for it.
  if (url.search !== '') {
    for (const [key, value] of url.searchParams) {
      const previous = Object.hasOwn(query, key) ? query[key] : undefined;
      setOwn(query, key, previous === undefined ? value : `${previous},${value}`);
    }
  }
  const rpc: RpcHttpData = { method: req.method ?? 'GET', url: url.href, headers, query, params };
  if (body && body.length > 0) rpc.body = { bytes: body };
  return {
    http: rpc,
    bindingData: { Query: query, Headers: headers, ...query, ...params },
  };
}

/**
 * Sets an own data property, so names like `__proto__` or `constructor` stay plain keys (plain
 * assignment of `__proto__` would replace the prototype instead).
 */
function setOwn(target: Record<string, string>, key: string, value: string): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}
