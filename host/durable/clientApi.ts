/**
 * The extension's HTTP API (EXT HttpApiHandler), served both on the durableClient's rpcBaseUrl and
 * on the public webhooks: orchestrators/{name}[/{id}], instances/[{id}[/{operation}]],
 * instances/{id}/raiseEvent/{event}, entities/{name}[/{key}]. Status codes follow the extension:
 * 202 + Location for running instances, 404 unknown, 410 finished, 409 start over a running id.
 */
import type http from 'node:http';

import { isTidemarkError } from '../../shared/errors';
import type { Clock } from '../../shared/clock';
import { readBody, sendJson } from '../httpServer';
import { isTerminal, type RuntimeStatus } from './history';
import type { InstanceClient, OperationOutcome } from './instanceClient';
import { type LinkContext, managementPayload } from './managementLinks';
import { parseJsonText } from './statusJson';

export interface ApiRequest {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  /** Path below the API base, URL-decoded, without leading or trailing slashes. */
  path: string;
  url: URL;
  links: LinkContext;
}

const STATUSES: readonly RuntimeStatus[] = [
  'Running',
  'Completed',
  'ContinuedAsNew',
  'Failed',
  'Canceled',
  'Terminated',
  'Pending',
  'Suspended',
];

function send(
  res: http.ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): void {
  if (body === undefined) {
    res.writeHead(status, headers);
    res.end();
  } else {
    sendJson(res, status, body, headers);
  }
}

function sendMessage(res: http.ServerResponse, status: number, message: string): void {
  send(res, status, { Message: message });
}

const isJson = (req: http.IncomingMessage): boolean =>
  /^application\/json\b/i.test(String(req.headers['content-type'] ?? ''));

/** A JSON body as JSON text; null when empty; undefined when it is not valid JSON. */
function parseBody(text: string): string | null | undefined {
  if (text.trim() === '') return null;
  try {
    JSON.parse(text);
    return text;
  } catch {
    return undefined;
  }
}

async function jsonBody(req: http.IncomingMessage): Promise<string | null | undefined> {
  return parseBody((await readBody(req)).toString('utf8'));
}

function parseDate(value: string | null): Date | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function parseStatuses(value: string | null): RuntimeStatus[] | undefined {
  const list = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .map((s) => STATUSES.find((x) => x.toLowerCase() === s.toLowerCase()))
    .filter((s): s is RuntimeStatus => s !== undefined);
  return list.length ? list : undefined;
}

const bool = (value: string | null): boolean | undefined =>
  value === null
    ? undefined
    : value.toLowerCase() === 'true'
      ? true
      : value.toLowerCase() === 'false'
        ? false
        : undefined;

export class ClientApi {
  constructor(
    private readonly client: InstanceClient,
    private readonly clock: Clock,
  ) {}

  async handle(a: ApiRequest): Promise<void> {
    try {
      await this.#route(a);
    } catch (err) {
      if (isTidemarkError(err, 'Conflict')) sendMessage(a.res, 409, err.message);
      else if (isTidemarkError(err) && err.isUserError) sendMessage(a.res, 400, err.message);
      else throw err;
    }
  }

  async #route(a: ApiRequest): Promise<void> {
    const method = a.req.method ?? 'GET';
    const seg = a.path.split('/');
    const [head] = seg;
    if (head === 'orchestrators' && seg.length >= 2 && seg.length <= 3) {
      if (method !== 'POST') return send(a.res, 404);
      return this.#start(a, seg[1] as string, seg[2] || undefined);
    }
    if (head === 'entities' && seg.length <= 3) return this.#entity(a, method, seg[1], seg[2]);
    if (head === 'instances') {
      const id = seg[1] || undefined;
      if (seg.length >= 4 && seg[2] === 'raiseEvent') {
        if (method !== 'POST' || !id) return send(a.res, 404);
        return this.#raise(a, id, seg.slice(3).join('/'));
      }
      if (seg.length > 3) return send(a.res, 404);
      if (!id) {
        if (method === 'GET') return this.#list(a);
        if (method === 'DELETE') return this.#purgeBy(a);
        return send(a.res, 404);
      }
      const op = seg[2];
      if (!op) {
        if (method === 'GET') return this.#status(a, id);
        if (method === 'DELETE') return this.#purge(a, id);
        return send(a.res, 404);
      }
      if (method !== 'POST') return send(a.res, 404);
      return this.#operation(a, id, op.toLowerCase());
    }
    send(a.res, 404);
  }

  async #start(a: ApiRequest, name: string, instanceId: string | undefined): Promise<void> {
    const input = await jsonBody(a.req);
    if (input === undefined) return sendMessage(a.res, 400, 'Invalid JSON content');
    const id = await this.client.start(
      name,
      instanceId,
      input,
      a.url.searchParams.get('version') ?? undefined,
    );
    const timeout = Number(a.url.searchParams.get('timeout'));
    const interval = Number(a.url.searchParams.get('pollingInterval'));
    if (timeout > 0 && interval > 0) return this.#waitForCompletion(a, id, timeout * 1000, interval * 1000);
    this.#checkStatus(a, id);
  }

  #checkStatus(a: ApiRequest, id: string): void {
    const payload = managementPayload(a.links, id);
    send(a.res, 202, payload, { location: payload.statusQueryGetUri, 'retry-after': '10' });
  }

  async #waitForCompletion(a: ApiRequest, id: string, timeoutMs: number, intervalMs: number): Promise<void> {
    const deadline = this.clock.now() + timeoutMs;
    for (;;) {
      const status = await this.client.status(id);
      if (status?.runtimeStatus === 'Completed') return send(a.res, 200, status.output);
      if (status && isTerminal(status.runtimeStatus as RuntimeStatus)) return this.#status(a, id);
      const left = deadline - this.clock.now();
      if (left <= 0) return this.#checkStatus(a, id);
      await this.clock.sleep(Math.min(left, intervalMs));
    }
  }

  async #status(a: ApiRequest, id: string): Promise<void> {
    const q = a.url.searchParams;
    const status = await this.client.status(id, {
      showHistory: bool(q.get('showHistory')) ?? false,
      showHistoryOutput: bool(q.get('showHistoryOutput')) ?? false,
      showInput: bool(q.get('showInput')) ?? true,
    });
    if (!status) return send(a.res, 404);
    const running = ['Running', 'Pending', 'ContinuedAsNew', 'Suspended'].includes(status.runtimeStatus);
    if (running) {
      return send(a.res, 202, status, { location: a.url.href, 'retry-after': '5' });
    }
    const failedAs500 =
      status.runtimeStatus === 'Failed' && bool(q.get('returnInternalServerErrorOnFailure'));
    send(a.res, failedAs500 ? 500 : 200, status);
  }

  async #list(a: ApiRequest): Promise<void> {
    const q = a.url.searchParams;
    const top = Number(q.get('top'));
    const page = await this.client.list({
      createdTimeFrom: parseDate(q.get('createdTimeFrom')),
      createdTimeTo: parseDate(q.get('createdTimeTo')),
      runtimeStatus: parseStatuses(q.get('runtimeStatus')),
      instanceIdPrefix: q.get('instanceIdPrefix') ?? undefined,
      top: Number.isInteger(top) && top > 0 ? top : undefined,
      continuationToken: String(a.req.headers['x-ms-continuation-token'] ?? '') || undefined,
      showInput: bool(q.get('showInput')) ?? true,
    });
    send(
      a.res,
      200,
      page.items,
      page.continuationToken ? { 'x-ms-continuation-token': page.continuationToken } : {},
    );
  }

  async #purge(a: ApiRequest, id: string): Promise<void> {
    const outcome = await this.client.purge(id);
    if (outcome === 'notFound') return send(a.res, 404);
    if (outcome === 'notTerminal') {
      return sendMessage(
        a.res,
        412,
        `Only orchestrations in a terminal state can be purged (instance ${id}).`,
      );
    }
    send(a.res, 200, { instancesDeleted: 1 });
  }

  async #purgeBy(a: ApiRequest): Promise<void> {
    const q = a.url.searchParams;
    const from = parseDate(q.get('createdTimeFrom'));
    if (!from) return sendMessage(a.res, 400, "Please provide value for 'createdTimeFrom' parameter.");
    const deleted = await this.client.purgeBy({
      createdTimeFrom: from,
      createdTimeTo: parseDate(q.get('createdTimeTo')) ?? new Date(this.clock.now()),
      runtimeStatus: parseStatuses(q.get('runtimeStatus')),
    });
    if (deleted === 0) return send(a.res, 404);
    send(a.res, 200, { instancesDeleted: deleted });
  }

  async #raise(a: ApiRequest, id: string, eventName: string): Promise<void> {
    const status = await this.client.status(id, { showInput: false });
    if (!status) return send(a.res, 404);
    if (isTerminal(status.runtimeStatus as RuntimeStatus)) return send(a.res, 410);
    const text = (await readBody(a.req)).toString('utf8');
    // An empty body (the JS client's raiseEvent without data drops the content type) is no data.
    if (text !== '' && !isJson(a.req)) {
      return sendMessage(a.res, 400, 'Only application/json request content is supported');
    }
    const data = parseBody(text);
    if (data === undefined) return sendMessage(a.res, 400, 'Invalid JSON content');
    this.#reply(a, await this.client.raiseEvent(id, eventName, data));
  }

  async #operation(a: ApiRequest, id: string, op: string): Promise<void> {
    const reason = a.url.searchParams.get('reason') ?? '';
    switch (op) {
      case 'terminate':
        return this.#reply(a, await this.client.terminate(id, reason));
      case 'suspend':
        return this.#reply(a, await this.client.suspend(id, reason));
      case 'resume':
        return this.#reply(a, await this.client.resume(id, reason));
      case 'rewind': {
        const status = await this.client.status(id, { showInput: false });
        if (!status) return sendMessage(a.res, 404, `No orchestration with instance ID "${id}" found.`);
        if (status.runtimeStatus !== 'Failed') {
          return sendMessage(
            a.res,
            412,
            `This orchestration has status ${status.runtimeStatus}, but only orchestrations in the "Failed" state can be rewound.`,
          );
        }
        return sendMessage(a.res, 501, 'Rewind is not supported by the local host.');
      }
      case 'restart': {
        const status = await this.client.status(id);
        if (!status)
          return sendMessage(a.res, 400, 'InstanceId does not match a valid orchestration instance.');
        const newInstance = bool(a.url.searchParams.get('restartWithNewInstanceId')) ?? true;
        const input = status.input === null ? null : JSON.stringify(status.input);
        const started = await this.client.start(status.name, newInstance ? undefined : id, input);
        return this.#checkStatus(a, started);
      }
      default:
        send(a.res, 404);
    }
  }

  #reply(a: ApiRequest, outcome: OperationOutcome): void {
    send(a.res, outcome === 'accepted' ? 202 : outcome === 'gone' ? 410 : 404);
  }

  async #entity(
    a: ApiRequest,
    method: string,
    name: string | undefined,
    rawKey: string | undefined,
  ): Promise<void> {
    const key = rawKey === '$' ? '' : rawKey;
    if (method === 'GET') {
      if (!name) return send(a.res, 404);
      if (key === undefined || key === '') {
        const top = Number(a.url.searchParams.get('top'));
        const token = String(a.req.headers['x-ms-continuation-token'] ?? '') || undefined;
        const page = await this.client.listEntities(name, top > 0 ? top : undefined, token);
        return send(
          a.res,
          200,
          page.items,
          page.continuationToken ? { 'x-ms-continuation-token': page.continuationToken } : {},
        );
      }
      const state = await this.client.readEntity(name, key);
      if (state === undefined) return send(a.res, 404);
      return send(a.res, 200, parseJsonText(state));
    }
    if (method !== 'POST' && method !== 'DELETE') return send(a.res, 404);
    if (!name) return sendMessage(a.res, 400, 'An entity name is required.');
    const op = method === 'DELETE' ? 'delete' : (a.url.searchParams.get('op') ?? '');
    const text = (await readBody(a.req)).toString('utf8');
    let input: string | null = null;
    if (text !== '') {
      if (isJson(a.req)) {
        try {
          JSON.parse(text);
          input = text;
        } catch (err) {
          return sendMessage(a.res, 400, `Could not parse JSON content: ${(err as Error).message}`);
        }
      } else {
        input = JSON.stringify(text);
      }
    }
    await this.client.signalEntity(name, key ?? '', op, input);
    send(a.res, 202);
  }
}
