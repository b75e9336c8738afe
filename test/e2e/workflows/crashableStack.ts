/**
 * The workflow stack with the host as a child process that a test can SIGKILL and start again on the
 * same task hub, data folder and settings (test/helpers/hostProcess.ts): two Azurites and a VM runner
 * per region (none in ARM mode, whose VMs the test runs) stay in the test process. The app runs from
 * a copy of the repository's folder whose host.json has short queue visibility timeouts, so the
 * messages a killed host held come back within seconds instead of Azure's 5 minutes; dist/ and
 * node_modules are the repository's own (symlinked). Also: the crash tests' kill loop and failover.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { expect } from 'vitest';

import { startAzurite, type AzuriteInstance } from '../../../host/azurite';
import { startVmRunners, type VmRunners } from '../../../local/vmRunners';
import { loadConfig } from '../../../shared/config';
import { fabricServices } from '../../../shared/fabric/services';
import type { Job } from '../../../shared/jobs/types';
import { RecordingLogger } from '../../../shared/logger';
import { type HostProcess, spawnHost } from '../../helpers/hostProcess';
import { REPO_ROOT } from '../../helpers/tidemarkHost';
import { waitFor } from '../../helpers/waitFor';
import { expectStepsInOrder, FAILOVER_STEP_NAMES } from './failoverHelpers';

const FUNCTION_KEY = 'crash-test-function-key';

export interface CrashableStack {
  source: AzuriteInstance;
  target: AzuriteInstance;
  host(): HostProcess;
  /** SIGKILLs the host (no cleanup at all) and starts it again on the same hub and data. */
  restartHost(): Promise<void>;
  api(
    method: string,
    route: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  job(id: string): Promise<Job | undefined>;
  waitForJob(id: string, timeoutMs?: number): Promise<Job>;
  /** PUTs a Running VM in eastus with these disks, enables replication and waits for it. */
  protectVm(resourceGroup: string, vm: string, disksMiB: { name: string; sizeMiB: number }[]): Promise<void>;
  nbdPort(resourceGroup: string, vm: string): Promise<number>;
  stop(): Promise<void>;
}

/** The app folder: the repository's package.json and dist/, with a host.json for fast crash recovery. */
function appCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-crash-app-'));
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

export interface CrashableStackOptions {
  /** More app settings (ARM mode's, for one). */
  settings?: Record<string, string>;
  /** Whether a VM runner per region starts agents for the local fabric's VMs (default true). */
  vmRunners?: boolean;
}

export async function startCrashableStack(options: CrashableStackOptions = {}): Promise<CrashableStack> {
  const [source, target] = await Promise.all([
    startAzurite({ name: 'eastus' }),
    startAzurite({ name: 'westus' }),
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
    TIDEMARK_TASK_HUB: 'tidemarkcrash',
    TIDEMARK_BLOB_POLL_INTERVAL_MS: '100',
    TIDEMARK_AGENT_HEARTBEAT_MS: '1000',
    TIDEMARK_RECOVERY_POINT_SCHEDULE: '0 0 0 1 1 *',
    TIDEMARK_FUNCTION_KEY: FUNCTION_KEY,
    ...options.settings,
  };
  const appDir = appCopy();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-crash-host-'));
  let host: HostProcess | undefined;
  let runners: VmRunners | undefined;
  const stopAll = async (): Promise<void> => {
    await runners?.stop();
    await host?.stop();
    await Promise.all([source.stop(), target.stop()]);
  };
  try {
    host = await spawnHost({ appDir, dataDir, env, timeoutMs: 60_000 });
    if (options.vmRunners !== false) {
      runners = await startVmRunners(fabricServices(loadConfig(regionSettings)), {
        dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-crash-vms-')),
        logger: new RecordingLogger(),
        pollIntervalMs: 200,
        agentOptions: { configPollIntervalMs: 300, statusIntervalMs: 1000 },
      });
    }
  } catch (err) {
    await stopAll();
    throw err;
  }

  const api: CrashableStack['api'] = async (method, route, body) => {
    const headers: Record<string, string> = { 'x-functions-key': FUNCTION_KEY };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${host!.url}/api/${route}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  const job: CrashableStack['job'] = async (id) => {
    const got = await api('GET', `jobs/${encodeURIComponent(id)}`);
    return got.status === 200 ? (got.body as unknown as Job) : undefined;
  };

  const waitForJob: CrashableStack['waitForJob'] = async (id, timeoutMs = 60_000) => {
    const done = await waitFor(
      async () => {
        const j = await job(id).catch(() => undefined);
        return j && j.state !== 'InProgress' ? j : undefined;
      },
      { timeoutMs, intervalMs: 200, what: `job ${id} to end` },
    );
    if (done.state !== 'Succeeded') {
      throw new Error(`job ${id} ${done.state}: ${done.error}\n${JSON.stringify(done.steps, null, 1)}`);
    }
    return done;
  };

  const nbdPort: CrashableStack['nbdPort'] = (resourceGroup, vm) =>
    waitFor(
      async () => {
        const got = await api('GET', `vms/${resourceGroup}/${vm}`);
        return (got.body.nbd as { port: number } | null | undefined)?.port;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `the NBD endpoint of ${resourceGroup}/${vm}` },
    );

  const protectVm: CrashableStack['protectVm'] = async (resourceGroup, vm, disksMiB) => {
    const put = await api('PUT', `vms/${resourceGroup}/${vm}`, {
      region: 'eastus',
      vnet: `${resourceGroup}-vnet`,
      subnet: 'default',
      size: 'Standard_B1s',
      disks: disksMiB.map((d) => ({ name: d.name, sizeGiB: d.sizeMiB / 1024 })),
    });
    if (put.status !== 201) throw new Error(`PUT VM: ${put.status} ${JSON.stringify(put.body)}`);
    await nbdPort(resourceGroup, vm);
    const started = await api('POST', `vms/${resourceGroup}/${vm}/enable-replication`, {});
    if (started.status !== 202) throw new Error(`enable: ${started.status} ${JSON.stringify(started.body)}`);
    await waitForJob((started.body.job as Job).id, 90_000);
  };

  return {
    source,
    target,
    host: () => host!,
    restartHost: async () => {
      await host!.kill();
      host = await spawnHost({ appDir, dataDir, env, timeoutMs: 60_000 });
    },
    api,
    job,
    waitForJob,
    protectVm,
    nbdPort,
    stop: stopAll,
  };
}

/**
 * SIGKILLs the host (and starts it again) once job `id` is in each of `steps` in turn, as long as the
 * job runs; what each step's state was at its kill. The host's output comes with a failure to get there.
 */
export async function killDuringSteps(stack: CrashableStack, id: string, steps: string[]): Promise<string[]> {
  const kills: string[] = [];
  try {
    for (const step of steps) {
      const seen = await waitFor(
        async () => {
          const job = await stack.job(id);
          if (!job) return undefined;
          if (job.state !== 'InProgress') return 'ended';
          const state = job.steps.find((s) => s.name === step)?.state;
          return state === 'NotStarted' ? undefined : state;
        },
        { timeoutMs: 90_000, intervalMs: 20, what: `job ${id} to reach "${step}"` },
      );
      if (seen === 'ended') break;
      kills.push(`${step}: ${seen}`);
      await stack.restartHost();
    }
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- host output ---\n${stack.host().output()}`);
  }
  return kills;
}

/**
 * A failover of `resourceGroup/vm` to `latestProcessed` with the host killed while it makes the target
 * disks and again while it starts the VM: the job, once it has finished, its steps in order and its
 * result the VM in `targetResourceGroup` on `pointId`.
 */
export async function failoverThroughCrashes(
  stack: CrashableStack,
  spec: { resourceGroup: string; vm: string; targetResourceGroup: string; pointId: string },
): Promise<Job> {
  const { resourceGroup, vm } = spec;
  const started = await stack.api('POST', `vms/${resourceGroup}/${vm}/failover`, {
    recoveryPoint: 'latestProcessed',
  });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const id = (started.body.job as Job).id;
  const [, , sync, disks, , start] = FAILOVER_STEP_NAMES;
  const kills = await killDuringSteps(stack, id, [disks!, start!]);
  expect(kills.length, 'the host was killed while the job ran').toBeGreaterThanOrEqual(1);

  const job = await stack.waitForJob(id, 120_000);
  expectStepsInOrder(job, FAILOVER_STEP_NAMES, [sync!]);
  expect(job.result).toMatchObject({
    targetVm: { region: 'westus', resourceGroup: spec.targetResourceGroup, name: vm },
    recoveryPoint: { id: spec.pointId },
  });
  return job;
}
