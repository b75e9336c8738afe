/**
 * The whole local stack for workflow tests: tidemark's app in the local host against two Azurites
 * (startTidemarkStack), plus a VM runner per region, so every Running VM of the fabric, a source VM
 * or a failed-over one, has its mobility agent serving its disks over NBD. Helpers call the HTTP API
 * with the function key and follow jobs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { loadConfig } from '../../shared/config';
import { fabricServices } from '../../shared/fabric/services';
import type { Job } from '../../shared/jobs/types';
import { RecordingLogger } from '../../shared/logger';
import { startVmRunners, type VmRunners } from '../../local/vmRunners';
import { startTidemarkStack, type TidemarkStack } from './tidemarkHost';
import { waitFor } from './waitFor';

export interface ApiAnswer {
  status: number;
  contentType: string;
  headers: Headers;
  body: Record<string, unknown>;
}

export interface WorkflowStack extends TidemarkStack {
  runners: VmRunners;
  api(method: string, route: string, body?: unknown, options?: { key?: string | null }): Promise<ApiAnswer>;
  /** Follows job `id` until it is no longer InProgress; throws with the job when it fails unless `allowFailure`. */
  waitForJob(id: string, options?: { timeoutMs?: number; allowFailure?: boolean }): Promise<Job>;
  /** The NBD endpoint of a running VM as GET /api/vms/{rg}/{vm} shows it (waits for the agent). */
  nbdOf(
    resourceGroup: string,
    vm: string,
    timeoutMs?: number,
  ): Promise<{ host: string; port: number; exports: string[] }>;
  /** PUTs a Running VM in eastus, enables replication and waits for the job to succeed. */
  protectVm(spec: ProtectSpec): Promise<Job>;
}

export interface ProtectSpec {
  resourceGroup: string;
  vm: string;
  vnet?: string;
  subnet?: string;
  availabilitySet?: string;
  /** Sizes in MiB, OS disk first. */
  disksMiB?: { name: string; sizeMiB: number }[];
  enableBody?: Record<string, unknown>;
}

export async function startWorkflowStack(extraSettings: Record<string, string> = {}): Promise<WorkflowStack> {
  const stack = await startTidemarkStack({ TIDEMARK_AGENT_HEARTBEAT_MS: '1000', ...extraSettings });
  const settings = {
    TIDEMARK_SOURCE_REGION: 'eastus',
    TIDEMARK_TARGET_REGION: 'westus',
    TIDEMARK_SOURCE_STORAGE: stack.source.connectionString,
    TIDEMARK_TARGET_STORAGE: stack.target.connectionString,
  };
  let runners: VmRunners;
  try {
    runners = await startVmRunners(fabricServices(loadConfig(settings)), {
      dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-vms-')),
      logger: new RecordingLogger(),
      pollIntervalMs: 200,
      agentOptions: { configPollIntervalMs: 300, statusIntervalMs: 1000 },
    });
  } catch (err) {
    await stack.stop();
    throw err;
  }

  const api: WorkflowStack['api'] = async (method, route, body, options = {}) => {
    const headers: Record<string, string> = {};
    const key = options.key === undefined ? stack.host.keys.functionKey : options.key;
    if (key !== null) headers['x-functions-key'] = key;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${stack.host.url}/api/${route}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: Record<string, unknown>;
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { text };
    }
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? '',
      headers: res.headers,
      body: parsed,
    };
  };

  const waitForJob: WorkflowStack['waitForJob'] = async (id, options = {}) => {
    const job = await waitFor(
      async () => {
        const got = await api('GET', `jobs/${encodeURIComponent(id)}`);
        const j = got.body as unknown as Job;
        return got.status === 200 && j.state !== 'InProgress' ? j : undefined;
      },
      { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 200, what: `job ${id} to end` },
    );
    if (job.state !== 'Succeeded' && !options.allowFailure) {
      throw new Error(`job ${id} ${job.state}: ${job.error}\n${JSON.stringify(job.steps, null, 1)}`);
    }
    return job;
  };

  const nbdOf: WorkflowStack['nbdOf'] = (resourceGroup, vm, timeoutMs = 20_000) =>
    waitFor(
      async () => {
        const got = await api('GET', `vms/${resourceGroup}/${vm}`);
        const nbd = got.body.nbd as { host: string; port: number; exports: string[] } | undefined | null;
        return nbd && nbd.exports.length > 0 ? nbd : undefined;
      },
      { timeoutMs, intervalMs: 200, what: `the NBD endpoint of ${resourceGroup}/${vm}` },
    );

  const protectVm: WorkflowStack['protectVm'] = async (spec) => {
    const put = await api('PUT', `vms/${spec.resourceGroup}/${spec.vm}`, {
      region: 'eastus',
      vnet: spec.vnet ?? `${spec.resourceGroup}-vnet`,
      subnet: spec.subnet ?? 'default',
      size: 'Standard_B1s',
      ...(spec.availabilitySet ? { availabilitySet: spec.availabilitySet } : {}),
      disks: (spec.disksMiB ?? [{ name: 'os', sizeMiB: 8 }]).map((d) => ({
        name: d.name,
        sizeGiB: d.sizeMiB / 1024,
      })),
    });
    if (put.status !== 201 && put.status !== 200)
      throw new Error(`PUT VM: ${put.status} ${JSON.stringify(put.body)}`);
    await nbdOf(spec.resourceGroup, spec.vm);
    const started = await api(
      'POST',
      `vms/${spec.resourceGroup}/${spec.vm}/enable-replication`,
      spec.enableBody ?? {},
    );
    if (started.status !== 202) throw new Error(`enable: ${started.status} ${JSON.stringify(started.body)}`);
    return waitForJob((started.body.job as Job).id, { timeoutMs: 90_000 });
  };

  return {
    ...stack,
    runners,
    api,
    waitForJob,
    nbdOf,
    protectVm,
    stop: async () => {
      await runners.stop();
      await stack.stop();
    },
  };
}
