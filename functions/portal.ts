/**
 * The web portal (docs/portal.md): the static files under `portal/` (HTML, CSS, plain ES modules; no
 * build step), served by one anonymous HTTP function at `/api/portal/`. Only files found in that
 * folder at start with a known extension are served; any other path is 404, so `..` or an encoded
 * slash can never reach another file. Answers carry an ETag and `Cache-Control: no-cache`, so a
 * browser revalidates (304) instead of running an old page after a deploy.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** What the page may load: its own files only, no inline script, no framing. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export interface PortalFile {
  /** Path below portal/, with `/` separators: `index.html`, `lib/format.js`. */
  name: string;
  absolutePath: string;
  contentType: string;
}

/**
 * The folder that holds portal/index.html: found upwards from this file, so it works from the
 * sources (functions/) and from the compiled copy (dist/functions/), locally and in Azure, where the
 * deployment package keeps portal/ beside dist/.
 */
export function findPortalDir(start: string = __dirname): string | undefined {
  let dir = start;
  for (;;) {
    const candidate = path.join(dir, 'portal');
    if (fs.existsSync(path.join(candidate, 'index.html'))) return candidate;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Every servable file under `dir` (known extension, not hidden), by its name below `dir`. */
export function listPortalFiles(dir: string): Map<string, PortalFile> {
  const files = new Map<string, PortalFile>();
  const walk = (sub: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const name = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(name);
      else if (entry.isFile()) {
        // `.d.ts` files type the modules for the tests; they are not part of the page.
        if (entry.name.endsWith('.d.ts')) continue;
        const contentType = CONTENT_TYPES[path.extname(entry.name).toLowerCase()];
        if (contentType)
          files.set(name, { name, absolutePath: path.join(dir, sub, entry.name), contentType });
      }
    }
  };
  walk('');
  return files;
}

/** The file a route value names (`''` is index.html); undefined for anything not in `files`. */
export function resolvePortalFile(
  files: ReadonlyMap<string, PortalFile>,
  routePath: string | undefined,
): PortalFile | undefined {
  const name = routePath === undefined || routePath === '' ? 'index.html' : routePath;
  return files.get(name);
}

function etagOf(body: Buffer): string {
  return `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/** Whether an If-None-Match header value lists `etag` (or `*`). */
export function matchesEtag(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === '*' || t === etag);
}

let cachedFiles: Map<string, PortalFile> | undefined;

function portalFiles(): Map<string, PortalFile> {
  if (cachedFiles) return cachedFiles;
  const dir = findPortalDir();
  // Not cached when missing, so a deployment that adds the folder later is picked up.
  if (!dir) return new Map();
  cachedFiles = listPortalFiles(dir);
  return cachedFiles;
}

/** A path that names no portal file: problem+json, as every other 4xx of the API. */
function notFound(req: HttpRequest): HttpResponseInit {
  let pathname: string | undefined;
  try {
    pathname = new URL(req.url).pathname;
  } catch {
    pathname = undefined;
  }
  return {
    status: 404,
    headers: {
      'content-type': 'application/problem+json',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    },
    body: JSON.stringify({
      type: 'urn:tidemark:error:NotFound',
      title: 'Not found',
      status: 404,
      detail: 'The portal has no such file.',
      code: 'NotFound',
      ...(pathname !== undefined ? { instance: pathname } : {}),
    }),
  };
}

/** GET|HEAD /api/portal/{*path}: one of the portal's files; `/api/portal` redirects to `/api/portal/`. */
export async function portal(req: HttpRequest): Promise<HttpResponseInit> {
  const routePath = req.params.path;
  if (!routePath) {
    // The page loads its modules and the API by relative URLs: it must be at `…/portal/`.
    const pathname = new URL(req.url).pathname;
    if (!pathname.endsWith('/')) {
      const last = pathname.slice(pathname.lastIndexOf('/') + 1);
      return { status: 308, headers: { location: `${last}/`, 'cache-control': 'no-cache' } };
    }
  }
  const file = resolvePortalFile(portalFiles(), routePath);
  if (!file) return notFound(req);
  let body: Buffer;
  try {
    body = await fs.promises.readFile(file.absolutePath);
  } catch {
    return notFound(req);
  }
  const etag = etagOf(body);
  const headers: Record<string, string> = {
    'content-type': file.contentType,
    'cache-control': 'no-cache',
    etag,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  if (file.contentType.startsWith('text/html')) {
    headers['content-security-policy'] = CONTENT_SECURITY_POLICY;
    headers['x-frame-options'] = 'DENY';
  }
  if (matchesEtag(req.headers.get('if-none-match'), etag)) return { status: 304, headers };
  return { status: 200, headers, body };
}

app.http('portal', {
  methods: ['GET', 'HEAD'],
  authLevel: 'anonymous',
  route: 'portal/{*path}',
  handler: portal,
});
