/**
 * Shared set-up for the durable conformance tests: a host on the durable fixture app against the
 * file's Azurite (a fresh task hub per host), and small clients for its HTTP starter and the
 * durable HTTP API.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { AzuriteInstance } from '../../../host/azurite';
import { type HostHandle, startHost, type StartHostOptions } from '../../../host/startHost';
import { RecordingLogger } from '../../../shared/logger';
import { uniqueName } from '../../helpers/azurite';
import { waitFor } from '../../helpers/waitFor';

export const DURABLE_APP = path.join(__dirname, '../../fixtures/durable-app');

export interface DurableHost {
  host: HostHandle;
  logger: RecordingLogger;
  hub: string;
  dataDir: string;
}

export async function startDurableHost(
  azurite: AzuriteInstance,
  extra: Partial<StartHostOptions> & { hub?: string } = {},
): Promise<DurableHost> {
  const logger = new RecordingLogger();
  const hub = extra.hub ?? uniqueName('hub');
  const dataDir = extra.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'durable-host-'));
  const host = startHost({
    appDir: DURABLE_APP,
    port: 0,
    logger,
    dataDir,
    useProcessEnv: false,
    ...extra,
    settings: { AzureWebJobsStorage: azurite.connectionString, DURABLE_HUB: hub, ...extra.settings },
  });
  await host.ready;
  return { host, logger, hub, dataDir };
}

export interface CheckStatus {
  id: string;
  statusQueryGetUri: string;
  sendEventPostUri: string;
  terminatePostUri: string;
  purgeHistoryDeleteUri: string;
  suspendPostUri: string;
  resumePostUri: string;
}

/** Starts an orchestration through the app's HTTP starter (the real durable client). */
export async function startViaHttp(
  host: HostHandle,
  name: string,
  input?: unknown,
  instanceId?: string,
): Promise<CheckStatus> {
  const res = await fetch(`${host.url}/api/orchestrators/${name}${instanceId ? `/${instanceId}` : ''}`, {
    method: 'POST',
    body: input === undefined ? '' : JSON.stringify(input),
  });
  if (res.status !== 202) throw new Error(`start ${name}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as CheckStatus;
}

/** Calls the app's /api/client/{op} function (the real durable client). */
export async function clientOp(host: HostHandle, op: string, body: unknown): Promise<Response> {
  return fetch(`${host.url}/api/client/${op}`, { method: 'POST', body: JSON.stringify(body) });
}

export interface Status {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  input: unknown;
  output: unknown;
  customStatus: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  historyEvents?: Record<string, unknown>[];
}

/** GET on the durable HTTP API (rpc base, no key). */
export async function rpc(host: HostHandle, pathAndQuery: string, init?: RequestInit): Promise<Response> {
  return fetch(`${host.url}/durabletask/${pathAndQuery}`, init);
}

export async function getStatus(host: HostHandle, id: string, query = ''): Promise<Status | undefined> {
  const res = await rpc(host, `instances/${encodeURIComponent(id)}${query}`);
  if (res.status === 404) return undefined;
  return (await res.json()) as Status;
}

export async function waitForStatus(
  host: HostHandle,
  id: string,
  statuses: string[] = ['Completed', 'Failed', 'Terminated'],
  timeoutMs = 20_000,
): Promise<Status> {
  return waitFor(
    async () => {
      const s = await getStatus(host, id);
      return s && statuses.includes(s.runtimeStatus) ? s : undefined;
    },
    { timeoutMs, intervalMs: 20, what: `instance ${id} to reach ${statuses.join('/')}` },
  );
}
