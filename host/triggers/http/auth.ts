/**
 * Function-level auth as the Functions host does it: the key comes from the `x-functions-key`
 * header, else the `code` query parameter; HostKeys decides (the master key grants every level).
 */
import type http from 'node:http';

import type { AuthLevel, HostKeys } from '../../keys';

export function presentedKey(req: http.IncomingMessage, url: URL): string | undefined {
  const header = req.headers['x-functions-key'];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  return fromHeader || url.searchParams.get('code') || undefined;
}

export function isAuthorized(keys: HostKeys, level: AuthLevel, req: http.IncomingMessage, url: URL): boolean {
  return level === 'anonymous' || keys.authorize(level, presentedKey(req, url));
}
