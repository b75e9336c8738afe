/**
 * Mounts the HTTP API on the host's listener twice: at `/durabletask/` as the durableClient's
 * rpcBaseUrl (loopback callers only, no key, like the extension's local RPC endpoint) and at the
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
