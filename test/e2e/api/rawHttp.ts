/**
 * HTTP requests exactly as written: node:http sends the path as given (fetch would normalize `..`
 * and re-encode), any Content-Type or none, and a body that may be a stream (for a body too large
 * to hold).
 */
import http from 'node:http';
import type { Readable } from 'node:stream';

export interface RawRequest {
  method: string;
  /** The path and query, percent-encoded as it should go on the wire. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer | (() => Readable);
}

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  contentType: string;
  text: string;
  /** The body parsed as JSON, when it is. */
  json: unknown;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

export function rawRequest(baseUrl: string, request: RawRequest): Promise<RawAnswer> {
  const base = new URL(baseUrl);
  const headers: Record<string, string> = { ...request.headers };
  const body = request.body;
  if (typeof body === 'string' || Buffer.isBuffer(body))
    headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        method: request.method,
        path: request.path,
        headers,
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? (JSON.parse(text) as unknown) : undefined;
          } catch {
            json = undefined;
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            contentType: String(res.headers['content-type'] ?? ''),
            text,
            json,
          });
        });
      },
    );
    req.on('error', reject);
    if (typeof body === 'function') {
      const stream = body();
      stream.on('error', reject);
      stream.pipe(req);
    } else {
      req.end(body);
    }
  });
}

export function closeRawAgent(): void {
  agent.destroy();
}
