/**
 * Writes a function's HTTP result (`returnValue.http` in RPC form) to the client: status, headers,
 * cookies as Set-Cookie, body bytes. The host sets Content-Length itself; 204, 205 and 304 carry no
 * body, and Node drops the body of an answer to HEAD. Host-level answers (401, 500 ...) have empty
 * bodies, as the Functions host sends them; 413 (body too large) is problem+json.
 */
import type http from 'node:http';

import type { RpcHttpData } from '../../core/rpcTypes';
import { serializeCookie } from './cookies';

type Headers = Record<string, string | string[]>;

const NO_BODY = new Set([204, 205, 304]);
// Framing is the host's job: it knows the real body length.
const HOP_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

export function sendEmpty(res: http.ServerResponse, status: number, headers: Headers = {}): void {
  res.writeHead(status, NO_BODY.has(status) ? headers : { ...headers, 'content-length': '0' });
  res.end();
}

/**
 * 413 for a body over host.json `extensions.http.maxRequestBodySize`, as application/problem+json
 * (tidemark's API answers every error so) rather than Kestrel's empty body. The function never runs.
 */
export function sendTooLarge(res: http.ServerResponse, limit: number, headers: Headers = {}): void {
  const body = JSON.stringify({
    type: 'about:blank',
    title: 'Payload Too Large',
    status: 413,
    detail: `The request body is larger than the host accepts (${limit} bytes; host.json extensions.http.maxRequestBodySize).`,
    code: 'PayloadTooLarge',
  });
  res.writeHead(413, {
    ...headers,
    'content-type': 'application/problem+json',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

function bodyBytes(http: RpcHttpData): Buffer {
  const body = http.body;
  const bytes = body?.bytes ?? body?.stream;
  if (bytes) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (typeof body?.string === 'string') return Buffer.from(body.string);
  if (typeof body?.json === 'string') return Buffer.from(body.json);
  return Buffer.alloc(0);
}

/** Throws RangeError for a status code that is not 100-999 (the caller answers 500). */
export function sendFunctionResponse(
  res: http.ServerResponse,
  result: RpcHttpData | null | undefined,
  customHeaders: Record<string, string>,
): void {
  if (!result) {
    // The host answers 200 when the function set no response (FunctionInvocationMiddleware: OkResult).
    sendEmpty(res, 200, customHeaders);
    return;
  }
  const status = result.statusCode ? Number(result.statusCode) : 200;
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new RangeError(`The function returned the invalid HTTP status "${result.statusCode}".`);
  }
  const headers: Headers = { ...customHeaders };
  const own = result.headers;
  if (own) {
    for (const key of Object.keys(own)) {
      const name = key.toLowerCase();
      if (!HOP_HEADERS.has(name)) headers[name] = own[key] as string;
    }
  }
  if (result.cookies && result.cookies.length > 0) {
    const cookies = result.cookies.map(serializeCookie);
    const set = headers['set-cookie'];
    headers['set-cookie'] = set === undefined ? cookies : [...([] as string[]).concat(set), ...cookies];
  }
  if (NO_BODY.has(status)) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const body = bodyBytes(result);
  headers['content-length'] = String(body.length);
  res.writeHead(status, headers);
  res.end(body);
}
