/**
 * One HTTP request to a function: route, authorize, throttle, read the body, invoke once (retry
 * policies do not apply to HTTP triggers), answer. A failed invocation answers 500 with an empty
 * body; the invoker has logged the error.
 */
import type http from 'node:http';

import type { Logger } from '../../../shared/logger';
import type { RouteHandler } from '../../httpServer';
import type { HostServices } from '../../plugin';
import { handleAdmin, handleRoot, type AdminContext } from './admin';
import { isAuthorized } from './auth';
import type { HttpOptions } from './config';
import { RequestGate } from './gate';
import { hasBody, readRequestBody, toRpcRequest } from './request';
import { sendEmpty, sendFunctionResponse, sendTooLarge } from './response';
import type { RouteMatch, RouteTable } from './routeTable';
import { splitPath } from './routeTemplate';

export interface HttpTriggerHandler {
  handle: RouteHandler;
  /** Refuses new requests (503) and resolves once those in flight are answered. */
  stop(): Promise<void>;
}

/** Paths the host's built-in routes own, even when a function route would match them. */
function isReserved(path: readonly string[]): boolean {
  const first = path[0]?.toLowerCase();
  return first === 'admin' || (first === 'runtime' && path[1]?.toLowerCase() === 'webhooks');
}

export function createHttpTriggerHandler(
  services: HostServices,
  routes: RouteTable,
  options: HttpOptions,
  admin: AdminContext,
): HttpTriggerHandler {
  const gate = new RequestGate(options.maxConcurrentRequests, options.maxOutstandingRequests);
  const custom = options.customHeaders;
  const logger: Logger = services.logger;
  let stopped = false;

  async function invoke(
    match: RouteMatch,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
  ): Promise<void> {
    let body: Buffer | undefined;
    // Most requests (GET, HEAD ...) carry no body: nothing to wait for.
    if (hasBody(req)) {
      try {
        body = await readRequestBody(req, options.maxRequestBodySize);
      } catch (err) {
        if (req.destroyed) return; // the client went away; nobody to answer
        throw err;
      }
      if (!body) {
        sendTooLarge(res, options.maxRequestBodySize, custom);
        return;
      }
    }
    const { http: rpc, bindingData } = toRpcRequest(req, url, match.params, body);
    const outcome = await gate.run(() =>
      services.invoker.invoke(match.route.fn, {
        triggerData: { http: rpc },
        bindingData,
        logFields: { method: rpc.method, path: url.pathname },
      }),
    );
    if (res.destroyed) return;
    if (!outcome.ok) {
      sendEmpty(res, 500, custom);
      return;
    }
    try {
      sendFunctionResponse(res, outcome.response?.returnValue?.http, custom);
    } catch (err) {
      logger.error(`The HTTP response of '${match.route.fn.metadata.name}' could not be sent`, {
        invocationId: outcome.invocationId,
        err: (err as Error).message,
      });
      if (!res.headersSent) sendEmpty(res, 500, custom);
      else res.destroy();
    }
  }

  const handle: RouteHandler = async (req, res, url) => {
    if (handleAdmin(admin, req, res, url)) return true;
    const path = splitPath(url.pathname);
    if (isReserved(path)) return false;
    const match = routes.match(req.method ?? 'GET', path);
    if (!match) return handleRoot(req, res, url);
    if (stopped) {
      sendEmpty(res, 503, custom);
      return true;
    }
    if (!isAuthorized(services.keys, match.route.authLevel, req, url)) {
      sendEmpty(res, 401, custom);
      return true;
    }
    if (!gate.enter()) {
      sendEmpty(res, 429, custom);
      return true;
    }
    try {
      await invoke(match, req, res, url);
    } finally {
      gate.leave();
    }
    return true;
  };

  return {
    handle,
    async stop() {
      stopped = true;
      await gate.idle();
    },
  };
}
