/**
 * An incoming request in the worker's RPC form, as the Functions host builds it (ToRpcHttp):
 * absolute URL, lower-case headers without empty values, query values joined with ",", route
 * values, and the body as raw bytes when there is one.
 */
import type http from 'node:http';

import type { RpcHttpData } from '../../core/rpcTypes';

export const MAX_BODY_BYTES = 100 * 1024 * 1024;

function hasBody(req: http.IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Reads the whole body. Beyond `limit` it keeps draining without storing, so the caller can still
 * answer 413 on an intact connection, and resolves undefined.
 */
export function readRequestBody(
  req: http.IncomingMessage,
  limit = MAX_BODY_BYTES,
): Promise<Buffer | undefined> {
  if (!hasBody(req)) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.once('end', () =>
      resolve(size > limit ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)),
    );
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
  body: Buffer,
): ConvertedRequest {
  // fromEntries defines own properties, so names like `__proto__` or `constructor` stay plain keys.
  const headerEntries: [string, string][] = [];
  for (const [key, value] of Object.entries(req.headers)) {
    const text = Array.isArray(value) ? value.join(', ') : value;
    if (text) headerEntries.push([key, text]);
  }
  const headers = Object.fromEntries(headerEntries);
  const joined = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    const previous = joined.get(key);
    joined.set(key, previous === undefined ? value : `${previous},${value}`);
  }
  const query = Object.fromEntries(joined);
  const rpc: RpcHttpData = { method: req.method ?? 'GET', url: url.href, headers, query, params };
  if (body.length > 0) rpc.body = { bytes: body };
  return {
    http: rpc,
    bindingData: { Query: query, Headers: headers, ...query, ...params },
  };
}
