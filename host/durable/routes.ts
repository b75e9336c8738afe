/**
 * Mounts the HTTP API on the host's listener twice: at `/durabletask/` as the durableClient's
 * rpcBaseUrl (loopback callers only, no key, like the extension's local RPC endpoint, and never a
 * browser: see fromBrowser) and at the
 * public `/runtime/webhooks/durabletask/` that createCheckStatusResponse hands out, which needs the
 * `durabletask_extension` system key (or the master key) in `code` or `x-functions-key`.
 */
import type http from 'node:http';

import type { RouteHandler } from '../httpServer';
import { sendProblem } from '../httpServer';
import type { HostKeys } from '../keys';
import type { ClientApi } from './clientApi';
import { type LinkContext, WEBHOOK_PATH } from './managementLinks';

export const RPC_PATH = '/durabletask/';
export const SYSTEM_KEY_NAME = 'durabletask_extension';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const LOOPBACK_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?$/i;

/**
 * Whether a request to the keyless RPC endpoint may come from a web page rather than the durable
 * client: a browser on this machine is a loopback caller too, so a page could otherwise terminate or
 * purge instances (a simple cross-site POST) or read them after DNS rebinding. Browsers send Origin
 * on every POST and DELETE and Sec-Fetch-Site on every request, and a rebound name in Host; the
 * durable client (and Node's fetch) sends neither and names 127.0.0.1.
 */
function fromBrowser(req: http.IncomingMessage): boolean {
  if (req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined) return true;
  return !LOOPBACK_HOST.test(req.headers.host ?? '');
}

function subPath(pathname: string, base: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname.slice(base.length));
  } catch {
    decoded = pathname.slice(base.length);
  }
  return decoded.replace(/^\/+|\/+$/g, '');
}

export function durableRoutes(
  api: ClientApi,
  keys: HostKeys,
  links: (req: http.IncomingMessage) => LinkContext,
  ready: () => Promise<void>,
): RouteHandler {
  return async (req, res, url) => {
    const path = url.pathname;
    if (path.startsWith(RPC_PATH)) {
      if (!LOOPBACK.has(req.socket.remoteAddress ?? '')) return false;
      if (fromBrowser(req)) {
        sendProblem(
          res,
          403,
          'Forbidden',
          'The durable client endpoint answers local processes only; use /runtime/webhooks/durabletask with the system key.',
        );
        return true;
      }
      await ready();
      await api.handle({ req, res, url, path: subPath(path, RPC_PATH), links: links(req) });
      return true;
    }
    if (path === WEBHOOK_PATH || path.startsWith(`${WEBHOOK_PATH}/`)) {
      const header = req.headers['x-functions-key'];
      const presented = url.searchParams.get('code') || (typeof header === 'string' ? header : undefined);
      if (!keys.authorize('system', presented || undefined, SYSTEM_KEY_NAME)) {
        sendProblem(
          res,
          401,
          'Unauthorized',
          'The durabletask_extension system key (or the master key) is required.',
        );
        return true;
      }
      await ready();
      await api.handle({ req, res, url, path: subPath(path, WEBHOOK_PATH), links: links(req) });
      return true;
    }
    return false;
  };
}
