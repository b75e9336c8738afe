/**
 * The cheap part of the Functions host's own HTTP surface: `GET /admin/host/status` and
 * `GET /admin/functions` (master key), and a tiny page on `GET /` when no function claims it.
 */
import type http from 'node:http';

import type { RegisteredFunction } from '../../core/coreApi';
import { sendJson } from '../../httpServer';
import type { HostServices } from '../../plugin';
import { triggerBinding } from '../../plugin';
import { isAuthorized } from './auth';
import { sendEmpty } from './response';
import type { RouteTable } from './routeTable';

const ROOT_PAGE =
  '<!doctype html><title>Azure Functions</title><p>Your Functions 4.0 app is up and running (tidemark local host).</p>\n';

const ADMIN_PATH = /^\/admin\/(host\/status|functions)\/?$/i;

export interface AdminContext {
  services: HostServices;
  functions: readonly RegisteredFunction[];
  routes: RouteTable;
  routePrefix: string;
  hostVersion: string;
}

function functionList(ctx: AdminContext): unknown[] {
  const base = ctx.services.baseUrl();
  const prefix = ctx.routePrefix ? `${ctx.routePrefix}/` : '';
  const httpRoutes = new Map(ctx.routes.routes.map((r) => [r.fn.id, r]));
  return ctx.functions.map((fn) => {
    const route = httpRoutes.get(fn.id);
    return {
      name: fn.metadata.name,
      href: `${base}/admin/functions/${encodeURIComponent(fn.metadata.name)}`,
      invoke_url_template: route ? `${base}/${prefix}${route.route}` : null,
      language: 'node',
      trigger: String(triggerBinding(fn).binding.type),
      config: { bindings: Object.entries(fn.metadata.bindings).map(([name, b]) => ({ ...b, name })) },
      isDisabled: false,
    };
  });
}

/** Answers the admin endpoints; false for any other path. */
export function handleAdmin(
  ctx: AdminContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
): boolean {
  const endpoint = ADMIN_PATH.exec(url.pathname)?.[1]?.toLowerCase();
  if (!endpoint) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (!isAuthorized(ctx.services.keys, 'admin', req, url)) {
    sendEmpty(res, 401);
    return true;
  }
  if (endpoint === 'functions') {
    sendJson(res, 200, functionList(ctx));
  } else {
    sendJson(res, 200, {
      id: ctx.services.hostId,
      state: 'Running',
      version: ctx.hostVersion,
      processUptime: Math.round(process.uptime() * 1000),
    });
  }
  return true;
}

export function handleRoot(req: http.IncomingMessage, res: http.ServerResponse, url: URL): boolean {
  if (url.pathname !== '/' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(ROOT_PAGE),
  });
  res.end(ROOT_PAGE);
  return true;
}
