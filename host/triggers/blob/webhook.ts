/**
 * The Event Grid endpoint of blob triggers with `source: 'EventGrid'`, as the real extension serves
 * it: POST /runtime/webhooks/blobs?functionName=Host.Functions.<name>&code=<blobs_extension system key>.
 * `aeg-event-type: SubscriptionValidation` gets the validation handshake; a notification (Event Grid
 * schema array, or one CloudEvent) with Microsoft.Storage.BlobCreated events registers those blob
 * versions at once, through the same receipts as the scan, and answers 202.
 */
import type http from 'node:http';

import type { Logger } from '../../../shared/logger';
import { readBody, type RouteHandler, sendJson, sendProblem } from '../../httpServer';
import type { HostServices } from '../../plugin';
import { type BlobTriggerMessage, normalizeETag, storageError, toBlobType } from './messages';
import type { Receipts } from './receipts';
import type { BlobFunction } from './registry';

export const WEBHOOK_PATH = '/runtime/webhooks/blobs';
export const SYSTEM_KEY_NAME = 'blobs_extension';

interface GridEvent {
  eventType?: string;
  type?: string;
  subject?: string;
  data?: { url?: string; validationCode?: string };
}

/** Container and blob name of a BlobCreated event, from its subject or else its data.url. */
export function blobOfEvent(
  event: GridEvent,
  accountUrl: string,
): { container: string; blobName: string } | undefined {
  const subject = /^\/blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/.exec(event.subject ?? '');
  if (subject) return { container: subject[1] as string, blobName: subject[2] as string };
  if (!event.data?.url) return undefined;
  let path: string;
  try {
    path = new URL(event.data.url).pathname;
  } catch {
    return undefined;
  }
  const accountPath = new URL(accountUrl).pathname.replace(/\/+$/, '');
  if (accountPath && path.startsWith(accountPath + '/')) path = path.slice(accountPath.length);
  const parts = path.split('/').filter((p, i) => i > 0 || p !== '');
  if (parts.length < 2) return undefined;
  const [container, ...rest] = parts.map((p) => decodeURIComponent(p));
  return { container: container as string, blobName: rest.join('/') };
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function blobWebhook(
  functions: readonly BlobFunction[],
  services: HostServices,
  receipts: Receipts,
  logger: Logger,
  isStopped: () => boolean,
): RouteHandler {
  const byId = new Map(functions.map((bf) => [bf.functionId.toLowerCase(), bf]));
  return async (req, res, url) => {
    if (url.pathname.replace(/\/+$/, '').toLowerCase() !== WEBHOOK_PATH) return false;
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      sendProblem(res, 405, 'Method Not Allowed', 'The blobs webhook accepts POST only.');
      return true;
    }
    const key = header(req, 'x-functions-key') ?? url.searchParams.get('code') ?? undefined;
    if (!services.keys.authorize('system', key, SYSTEM_KEY_NAME)) {
      sendProblem(
        res,
        401,
        'Unauthorized',
        'The blobs webhook needs the blobs_extension system key (?code=).',
      );
      return true;
    }
    const functionName = url.searchParams.get('functionName') ?? '';
    if (!functionName) {
      sendProblem(res, 400, 'Bad Request', 'The query parameter functionName is required.');
      return true;
    }
    const id = functionName.toLowerCase();
    const bf = byId.get(id) ?? byId.get(`host.functions.${id}`);
    if (!bf || bf.source !== 'EventGrid') {
      sendProblem(
        res,
        404,
        'Not Found',
        `No blob trigger with source 'EventGrid' is named "${functionName}".`,
      );
      return true;
    }
    if (isStopped()) {
      sendProblem(res, 503, 'Service Unavailable', 'The host is stopping.');
      return true;
    }
    let events: GridEvent[];
    try {
      const body: unknown = JSON.parse((await readBody(req, 10 * 1024 * 1024)).toString('utf8'));
      events = (Array.isArray(body) ? body : [body]) as GridEvent[];
    } catch {
      sendProblem(res, 400, 'Bad Request', 'The body is not a JSON Event Grid event or array of events.');
      return true;
    }
    const validation = events.find(
      (e) => (e.eventType ?? e.type) === 'Microsoft.EventGrid.SubscriptionValidationEvent',
    );
    if (header(req, 'aeg-event-type') === 'SubscriptionValidation' || validation) {
      sendJson(res, 200, { validationResponse: validation?.data?.validationCode });
      return true;
    }
    for (const event of events) {
      if ((event.eventType ?? event.type) !== 'Microsoft.Storage.BlobCreated') continue;
      await registerEvent(bf, event, receipts, logger);
    }
    res.writeHead(202).end();
    return true;
  };
}

async function registerEvent(bf: BlobFunction, event: GridEvent, receipts: Receipts, logger: Logger) {
  const where = blobOfEvent(event, bf.account.blob.url);
  if (!where || where.container !== bf.path.container || !bf.path.match(where.blobName)) {
    logger.debug('BlobCreated event outside the function path; ignored', {
      function: bf.name,
      subject: event.subject,
    });
    return;
  }
  let props;
  try {
    props = await bf.account.blob
      .getContainerClient(where.container)
      .getBlobClient(where.blobName)
      .getProperties();
  } catch (err) {
    if (storageError(err).status === 404) {
      logger.info(`BlobCreated for '${where.container}/${where.blobName}', which no longer exists; ignored`);
      return;
    }
    throw err;
  }
  const message: BlobTriggerMessage = {
    Type: 'BlobTrigger',
    FunctionId: bf.functionId,
    BlobType: toBlobType(props.blobType),
    ContainerName: where.container,
    BlobName: where.blobName,
    ETag: normalizeETag(props.etag),
  };
  await receipts.register(message);
}
