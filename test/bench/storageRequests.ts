/**
 * Counts the storage requests a process sends, by who sends them, for the load bench. It listens on
 * Node's `http.client.request.start` / `http.client.response.finish` diagnostics channels (every
 * Azure SDK request goes through node:http), so nothing in the app changes to be counted. A request
 * is named from its URL alone: the account (by port), the container, queue or table, the verb and
 * `comp`, and a few headers (lease action, page write, metadata) that tell apart calls of the same
 * shape. Reads of the cache are the one shape several parts send alike (the trigger's executor, the
 * applier, the webhook, the sweep): `tagCacheReaders()` names them by the file that calls the SDK.
 * Requests made inside `unmetered()` (the bench's own sampling) are left out.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';

import { BlobClient } from '@azure/storage-blob';

import { CONTAINERS, TABLES } from '../../shared/storageNames';

export interface Endpoint {
  /** The account's name in the report, e.g. `source` or `target`. */
  account: string;
  service: 'blob' | 'queue' | 'table';
}

/** Counts by label: every request, and separately those answered with a status of 300 or more. */
export interface RequestCounts {
  requests: Record<string, number>;
  /** `label → status` for answers of 300 and above (404 of a look past the end, 412 of a condition). */
  failures: Record<string, number>;
}

const unmeteredScope = new AsyncLocalStorage<boolean>();
const callerScope = new AsyncLocalStorage<string>();

/** Runs `fn` without counting the requests it makes. */
export function unmetered<T>(fn: () => Promise<T>): Promise<T> {
  return unmeteredScope.run(true, fn);
}

/**
 * Who reads blobs, by the compiled file that calls the SDK; first match wins. The stack holds the
 * callers' callers too (async frames): the applier, run from the executor, comes before it.
 */
const READERS: [RegExp, string][] = [
  [/shared[\\/]replication[\\/](?!sweep\.js)/, 'applier'],
  [/shared[\\/]replication[\\/]sweep\.js/, 'sweep'],
  [/host[\\/]triggers[\\/]blob[\\/]webhook\.js/, 'trigger.webhook'],
  [/host[\\/]triggers[\\/]blob[\\/]executor\.js/, 'trigger.executor'],
];

let tagged = false;

/**
 * Wraps BlobClient's download, exists and getProperties so the requests they send carry the name of
 * their caller (found in the stack at the call, before the SDK's first await). Once per process.
 */
export function tagCacheReaders(): void {
  if (tagged) return;
  tagged = true;
  const proto = BlobClient.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const method of ['download', 'exists', 'getProperties']) {
    const original = proto[method]!;
    proto[method] = function (this: unknown, ...args: unknown[]) {
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 12;
      const stack = new Error().stack ?? '';
      Error.stackTraceLimit = limit;
      const caller = READERS.find(([pattern]) => pattern.test(stack))?.[1];
      return caller ? callerScope.run(caller, () => original.apply(this, args)) : original.apply(this, args);
    };
  }
}

/** The port of each service of an Azurite, as an endpoint map for `RequestCounter`. */
export function azuriteEndpoints(
  account: string,
  ports: { blobPort: number; queuePort: number; tablePort: number },
): Map<number, Endpoint> {
  return new Map<number, Endpoint>([
    [ports.blobPort, { account, service: 'blob' }],
    [ports.queuePort, { account, service: 'queue' }],
    [ports.tablePort, { account, service: 'table' }],
  ]);
}

function header(request: ClientRequest, name: string): string | undefined {
  const value = request.getHeader(name);
  return value === undefined ? undefined : String(value);
}

function blobLabel(request: ClientRequest, account: string, parts: string[], query: URLSearchParams): string {
  const method = request.method;
  const container = parts[0] ?? '';
  const comp = query.get('comp');
  if (query.get('restype') === 'container') {
    if (comp === 'list') {
      if (container === CONTAINERS.cache) return `trigger.scanner list cache (${account})`;
      if (container === 'azure-webjobs-hosts') return 'trigger.receipts list';
      return `other list ${container}`;
    }
    return `other ${method} container ${container}${comp ? `?comp=${comp}` : ''}`;
  }
  if (!container) return `other ${method} account ?comp=${comp ?? ''}`;
  if (container === 'azure-webjobs-hosts') {
    if (parts[1] !== 'blobreceipts') return `other ${method} azure-webjobs-hosts`;
    if (comp === 'lease') return `trigger.receipts lease ${header(request, 'x-ms-lease-action') ?? ''}`;
    if (comp === 'metadata') {
      return header(request, 'x-ms-meta-processed') !== undefined
        ? 'trigger.receipts mark processed'
        : 'trigger.receipts complete';
    }
    if (method === 'PUT') return 'trigger.receipts create';
    if (method === 'HEAD') return 'trigger.receipts read';
    return `trigger.receipts ${method}`;
  }
  if (container === CONTAINERS.cache) {
    const status = parts[parts.length - 1] === 'agent.json';
    if (method === 'PUT') return status ? 'agent status upload' : 'agent delta upload';
    if (method === 'DELETE') return 'applier cache delete';
    const caller = callerScope.getStore() ?? 'unknown';
    const what = `${method === 'HEAD' ? 'cache HEAD' : 'cache download'}${status ? ' (status)' : ''}`;
    return `${caller} ${what}`;
  }
  if (container === CONTAINERS.locks) {
    if (comp === 'lease') return `applier lease ${header(request, 'x-ms-lease-action') ?? ''}`;
    return `applier lock blob ${method}`;
  }
  if (container === CONTAINERS.replicas) {
    if (comp === 'page') {
      return header(request, 'x-ms-page-write') === 'clear' ? 'applier clear pages' : 'applier put page';
    }
    if (comp === 'snapshot') return 'points snapshot';
    return `points replicas ${method}${comp ? `?comp=${comp}` : ''}`;
  }
  if (container === CONTAINERS.journal) return `applier journal ${method}${comp ? `?comp=${comp}` : ''}`;
  if (container === CONTAINERS.quarantine) return `applier quarantine ${method}`;
  if (container === CONTAINERS.agentConfig) return `agent-config ${method}`;
  if (container === CONTAINERS.disks) {
    return `disks ${method}${comp ? `?comp=${comp}` : ''}`;
  }
  return `other ${method} ${container}${comp ? `?comp=${comp}` : ''}`;
}

function queueLabel(request: ClientRequest, parts: string[], query: URLSearchParams): string {
  const method = request.method;
  const queue = parts[0] ?? '';
  let op = method;
  if (parts[1] === 'messages') {
    if (method === 'POST') op = 'send';
    else if (method === 'GET') op = query.has('peekonly') ? 'peek' : 'receive';
    else if (method === 'DELETE') op = parts[2] ? 'delete' : 'clear';
    else if (method === 'PUT') op = 'update';
  } else if (method === 'PUT' && parts.length === 1) op = 'create';
  if (queue.startsWith('azure-webjobs-blobtrigger-')) return `trigger.queue ${op}`;
  if (queue === 'webjobs-blobtrigger-poison') return `trigger.poison ${op}`;
  if (/-(control-\d+|workitems)$/.test(queue)) return `durable queue ${op}`;
  return `other queue ${queue} ${op}`;
}

function tableLabel(request: ClientRequest, parts: string[]): string {
  const method = request.method;
  const resource = decodeURIComponent(parts[0] ?? '');
  const table = resource.replace(/\(.*$/, '');
  const keyed = /\(PartitionKey=/.test(resource);
  let op: string = method;
  if (table === 'Tables') op = 'create';
  else if (method === 'GET') op = keyed ? 'get' : 'query';
  else if (method === 'PUT' || method === 'MERGE' || method === 'PATCH') op = 'update';
  else if (method === 'POST') op = 'insert';
  else if (method === 'DELETE') op = 'delete';
  if (table === TABLES.protectedItems) return `items ${op}`;
  if (table === TABLES.recoveryPoints) return `points table ${op}`;
  if (/(Instances|History)$/.test(table)) return `durable table ${op}`;
  return `other table ${table} ${op}`;
}

/** A request's label, from its URL and headers (see the module comment). */
export function labelOf(request: ClientRequest, endpoint: Endpoint): string {
  const url = new URL(request.path, 'http://x');
  // The first segment is the account (devstoreaccount1).
  const parts = url.pathname.split('/').slice(2);
  if (endpoint.service === 'blob') return blobLabel(request, endpoint.account, parts, url.searchParams);
  if (endpoint.service === 'queue') return queueLabel(request, parts, url.searchParams);
  return tableLabel(request, parts);
}

/** The group a label belongs to: its first word (`trigger.scanner`, `applier`, `agent`, …). */
export function groupOf(label: string): string {
  return label.split(' ')[0] ?? label;
}

export class RequestCounter {
  #counts: RequestCounts = { requests: {}, failures: {} };
  readonly #labels = new WeakMap<ClientRequest, string>();
  readonly #onStart = (message: unknown): void => {
    const request = (message as { request: ClientRequest }).request;
    if (unmeteredScope.getStore()) return;
    const port = Number(/:(\d+)$/.exec(header(request, 'host') ?? '')?.[1]);
    const endpoint = this.endpoints.get(port);
    const label = endpoint ? labelOf(request, endpoint) : `unknown ${request.method} ${request.host}:${port}`;
    this.#labels.set(request, label);
    this.#counts.requests[label] = (this.#counts.requests[label] ?? 0) + 1;
  };
  readonly #onFinish = (message: unknown): void => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    const label = this.#labels.get(request);
    const status = response.statusCode ?? 0;
    if (label === undefined || status < 300) return;
    const key = `${label} → ${status}`;
    this.#counts.failures[key] = (this.#counts.failures[key] ?? 0) + 1;
  };

  constructor(private readonly endpoints: Map<number, Endpoint>) {
    diagnostics.subscribe('http.client.request.start', this.#onStart);
    diagnostics.subscribe('http.client.response.finish', this.#onFinish);
  }

  /** The counts since the last call (or since the start), and a fresh start. */
  take(): RequestCounts {
    const counts = this.#counts;
    this.#counts = { requests: {}, failures: {} };
    return counts;
  }

  dispose(): void {
    diagnostics.unsubscribe('http.client.request.start', this.#onStart);
    diagnostics.unsubscribe('http.client.response.finish', this.#onFinish);
  }
}

/** Adds `b` into `a`. */
export function addCounts(a: RequestCounts, b: RequestCounts): RequestCounts {
  for (const [k, v] of Object.entries(b.requests)) a.requests[k] = (a.requests[k] ?? 0) + v;
  for (const [k, v] of Object.entries(b.failures)) a.failures[k] = (a.failures[k] ?? 0) + v;
  return a;
}

export function total(counts: Record<string, number>, group?: string): number {
  let sum = 0;
  for (const [k, v] of Object.entries(counts)) if (group === undefined || groupOf(k) === group) sum += v;
  return sum;
}
