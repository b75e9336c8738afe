/**
 * The whole local stack for fault tests, with every part replaceable at any moment: two Azurites
 * (source eastus, target westus) that keep their data in folders and can be stopped and started again
 * on the same ports; tidemark's app in the local host as a child process that can be SIGKILLed and
 * started again on the same task hub, data folder and settings; and, unless turned off, a VM runner
 * per region in this process (every Running VM's mobility agent serving NBD). The app runs from a copy
 * of the repository's folder whose host.json has short queue visibility timeouts, so messages a killed
 * host held come back within seconds (as test/e2e/workflows/crashableStack.ts does).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startVmRunners, type VmRunners } from '../../../local/vmRunners';
import type { Clock } from '../../../shared/clock';
import { loadConfig } from '../../../shared/config';
import { TableAgentEndpointStore } from '../../../shared/fabric/agentEndpoints';
import { fabricServices } from '../../../shared/fabric/services';
import type { Job } from '../../../shared/jobs/types';
import { RecordingLogger } from '../../../shared/logger';
import { type HostProcess, spawnHost } from '../../helpers/hostProcess';
import { REPO_ROOT } from '../../helpers/tidemarkHost';
import { waitFor } from '../../helpers/waitFor';
import { RestartableAzurite } from './restartableAzurite';

export const FUNCTION_KEY = 'fault-test-function-key';

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface FaultStackOptions {
  /** App settings on top of the defaults (e.g. TIDEMARK_RECOVERY_POINT_SCHEDULE). */
  settings?: Record<string, string>;
  /** Run a VM runner per region in this process (default true). */
  runners?: boolean;
  /** The clock of the VM runners and so of every agent they start (default: the system clock). */
  runnerClock?: Clock;
}

export interface FaultStack {
  source: RestartableAzurite;
  target: RestartableAzurite;
  host(): HostProcess;
  /** SIGKILLs the host (no cleanup at all) and starts it again on the same hub, data and settings. */
  restartHost(): Promise<{ downMs: number }>;
  api(method: string, route: string, body?: unknown): Promise<ApiAnswer>;
  job(id: string): Promise<Job | undefined>;
  /** Follows a job until it ends; throws (with the steps) unless it Succeeded. */
  waitForJob(id: string, timeoutMs?: number): Promise<Job>;
  /** PUTs a Running VM in eastus with these disks (sizes in MiB) and waits for its agent. */
  putVm(resourceGroup: string, vm: string, disksMiB: { name: string; sizeMiB: number }[]): Promise<void>;
  /** Starts a job by POSTing `route` (202 expected) and returns its id. */
  startJob(route: string, body?: unknown): Promise<string>;
  /** The NBD port of a running VM's agent in `region`, from that region's fabric (no host needed). */
  nbdPort(resourceGroup: string, vm: string, region?: 'eastus' | 'westus'): Promise<number>;
  stop(): Promise<void>;
}

/** The app folder: the repository's package.json and dist/, with a host.json for fast crash recovery. */
function appCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-faults-app-'));
  const hostJson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'host.json'), 'utf8')) as {
    extensions: { durableTask: Record<string, unknown> };
  };
  hostJson.extensions.durableTask.storageProvider = {
    controlQueueVisibilityTimeout: '00:00:05',
    workItemQueueVisibilityTimeout: '00:00:05',
    maxQueuePollingInterval: '00:00:00.500',
  };
  fs.writeFileSync(path.join(dir, 'host.json'), JSON.stringify(hostJson, null, 2));
  fs.copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'));
  fs.symlinkSync(path.join(REPO_ROOT, 'dist'), path.join(dir, 'dist'), 'dir');
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

export async function startFaultStack(options: FaultStackOptions = {}): Promise<FaultStack> {
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'index.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm run test:faults does it).');
  }
  const [source, target] = await Promise.all([
    RestartableAzurite.start('eastus'),
    RestartableAzurite.start('westus'),
  ]);
  const regionSettings = {
    TIDEMARK_SOURCE_REGION: 'eastus',
    TIDEMARK_TARGET_REGION: 'westus',
    TIDEMARK_SOURCE_STORAGE: source.connectionString,
    TIDEMARK_TARGET_STORAGE: target.connectionString,
  };
  const env = {
    ...regionSettings,
    FUNCTIONS_WORKER_RUNTIME: 'node',
    AzureWebJobsStorage: target.connectionString,
    TIDEMARK_TASK_HUB: 'tidemarkfaults',
    TIDEMARK_BLOB_POLL_INTERVAL_MS: '100',
    TIDEMARK_AGENT_HEARTBEAT_MS: '1000',
    TIDEMARK_RECOVERY_POINT_SCHEDULE: '0 0 0 1 1 *',
    TIDEMARK_FUNCTION_KEY: FUNCTION_KEY,
    ...options.settings,
  };
  const appDir = appCopy();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-faults-host-'));
  const vmDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-faults-vms-'));
  let host: HostProcess | undefined;
  let runners: VmRunners | undefined;
  const stopAll = async (): Promise<void> => {
    await runners?.stop();
    await host?.stop();
    await Promise.all([source.dispose(), target.dispose()]);
    for (const dir of [appDir, dataDir, vmDir]) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    host = await spawnHost({ appDir, dataDir, env, timeoutMs: 60_000 });
    if (options.runners !== false) {
      runners = await startVmRunners(fabricServices(loadConfig(regionSettings)), {
        dataDir: vmDir,
        logger: new RecordingLogger(),
        pollIntervalMs: 200,
        ...(options.runnerClock ? { clock: options.runnerClock } : {}),
        agentOptions: { configPollIntervalMs: 300, statusIntervalMs: 1000 },
      });
    }
  } catch (err) {
    await stopAll();
    throw err;
  }

  const api: FaultStack['api'] = async (method, route, body) => {
    const headers: Record<string, string> = { 'x-functions-key': FUNCTION_KEY };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${host!.url}/api/${route}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: Record<string, unknown>;
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { text };
    }
    return { status: res.status, body: parsed };
  };

  const job: FaultStack['job'] = async (id) => {
    const got = await api('GET', `jobs/${encodeURIComponent(id)}`);
    return got.status === 200 ? (got.body as unknown as Job) : undefined;
  };

  const waitForJob: FaultStack['waitForJob'] = async (id, timeoutMs = 120_000) => {
    const done = await waitFor(
      async () => {
        const j = await job(id).catch(() => undefined);
        return j && j.state !== 'InProgress' ? j : undefined;
      },
      { timeoutMs, intervalMs: 250, what: `job ${id} to end` },
    );
    if (done.state !== 'Succeeded') {
      throw new Error(`job ${id} ${done.state}: ${done.error}\n${JSON.stringify(done.steps, null, 1)}`);
    }
    return done;
  };

  const endpoints = {
    eastus: TableAgentEndpointStore.fromConnectionString(source.connectionString),
    westus: TableAgentEndpointStore.fromConnectionString(target.connectionString),
  };
  const nbdPort: FaultStack['nbdPort'] = (resourceGroup, vm, region = 'eastus') =>
    waitFor(async () => (await endpoints[region].get(resourceGroup, vm))?.port, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: `the NBD endpoint of ${resourceGroup}/${vm} in ${region}`,
    });

  const putVm: FaultStack['putVm'] = async (resourceGroup, vm, disksMiB) => {
    const put = await api('PUT', `vms/${resourceGroup}/${vm}`, {
      region: 'eastus',
      vnet: `${resourceGroup}-vnet`,
      subnet: 'default',
      size: 'Standard_B1s',
      disks: disksMiB.map((d) => ({ name: d.name, sizeGiB: d.sizeMiB / 1024 })),
    });
    if (put.status !== 201 && put.status !== 200) {
      throw new Error(`PUT VM: ${put.status} ${JSON.stringify(put.body)}`);
    }
    if (runners) await nbdPort(resourceGroup, vm);
  };

  const startJob: FaultStack['startJob'] = async (route, body = {}) => {
    const started = await api('POST', route, body);
    if (started.status !== 202)
      throw new Error(`POST ${route}: ${started.status} ${JSON.stringify(started.body)}`);
    return (started.body.job as Job).id;
  };

  return {
    source,
    target,
    host: () => host!,
    restartHost: async () => {
      const killedAt = Date.now();
      await host!.kill();
      host = await spawnHost({ appDir, dataDir, env, timeoutMs: 60_000 });
      return { downMs: Date.now() - killedAt };
    },
    api,
    job,
    waitForJob,
    putVm,
    startJob,
    nbdPort,
    stop: stopAll,
  };
}
