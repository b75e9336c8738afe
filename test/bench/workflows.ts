/**
 * Workflow benchmarks, through the whole local stack (host, two Azurites, VM runners):
 *
 * - `initial_replication.ratio`: a VM with 2 × 1 GiB disks, half of each written, is enabled; the
 *   "Initial replication" step's throughput (allocated bytes ÷ the step's time) ÷ the throughput of a
 *   raw copy of the same ranges from the source Azurite to the target one (4 MiB download + Put Page,
 *   the plain way), measured just before. Goal ≥ 0.8.
 * - `failover.rto_s`: POST failover (`latestProcessed`) of that VM until its job says the target VM
 *   runs. Goal ≤ 30 s. The baseline is the same raw copy of the same bytes.
 *
 * TIDEMARK_BENCH_DISK_MIB shrinks the disks for a quick run (default 1024).
 */
import { BlobServiceClient, type PageBlobClient } from '@azure/storage-blob';

import type { Job } from '../../shared/jobs/types';
import { CONTAINERS } from '../../shared/storageNames';
import { startWorkflowStack, type WorkflowStack } from '../helpers/workflowStack';
import type { BenchResult } from './types';

const MiB = 1024 * 1024;
const CHUNK = 4 * MiB;

/** Fills the first half of `blob` with non-zero 4 MiB chunks. */
async function halfWrite(blob: PageBlobClient, sizeBytes: number, seed: number): Promise<number> {
  const half = sizeBytes / 2;
  const writes: Promise<unknown>[] = [];
  for (let at = 0; at < half; at += CHUNK) {
    const data = Buffer.alloc(CHUNK, ((at / CHUNK + seed) % 250) + 1);
    writes.push(blob.uploadPages(data, at, CHUNK));
    if (writes.length >= 8) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  return half;
}

/** The plain copy: every allocated range, 4 MiB at a time, downloaded then put. Returns seconds. */
async function rawCopy(from: PageBlobClient[], to: PageBlobClient[], sizeBytes: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < from.length; i++) {
    await to[i]!.create(sizeBytes);
    for await (const range of from[i]!.listPageRanges()) {
      for (let at = range.start; at <= range.end; at += CHUNK) {
        const length = Math.min(CHUNK, range.end + 1 - at);
        await to[i]!.uploadPages(await from[i]!.downloadToBuffer(at, length), at, length);
      }
    }
  }
  return (performance.now() - started) / 1000;
}

function stepSeconds(job: Job, name: string): number {
  const step = job.steps.find((s) => s.name === name);
  if (!step?.startedAt || !step.endedAt)
    throw new Error(`Step ${name} has no times: ${JSON.stringify(step)}`);
  return (Date.parse(step.endedAt) - Date.parse(step.startedAt)) / 1000;
}

export async function benchWorkflows(): Promise<BenchResult[]> {
  const diskMiB = Number(process.env.TIDEMARK_BENCH_DISK_MIB ?? 1024);
  const sizeBytes = diskMiB * MiB;
  const stack: WorkflowStack = await startWorkflowStack({ 'AzureWebJobs.recoveryPoints.Disabled': 'true' });
  try {
    const put = await stack.api('PUT', 'vms/bench-rg/big1', {
      region: 'eastus',
      vnet: 'bench-vnet',
      subnet: 'default',
      size: 'Standard_D2s_v3',
      disks: [
        { name: 'os', sizeGiB: diskMiB / 1024 },
        { name: 'data', sizeGiB: diskMiB / 1024 },
      ],
    });
    if (put.status !== 201) throw new Error(`PUT VM: ${put.status} ${JSON.stringify(put.body)}`);
    const source = BlobServiceClient.fromConnectionString(stack.source.connectionString);
    const target = BlobServiceClient.fromConnectionString(stack.target.connectionString);
    const disks = ['os', 'data'].map((d) =>
      source.getContainerClient(CONTAINERS.disks).getPageBlobClient(`bench-rg/big1/${d}`),
    );
    let bytes = 0;
    for (const [i, disk] of disks.entries()) bytes += await halfWrite(disk, sizeBytes, i);

    const scratch = target.getContainerClient('bench-raw-copy');
    await scratch.createIfNotExists();
    const rawSeconds = await rawCopy(
      disks,
      ['os', 'data'].map((d) => scratch.getPageBlobClient(d)),
      sizeBytes,
    );
    await scratch.delete();

    await stack.nbdOf('bench-rg', 'big1', 60_000);
    const enable = await stack.api('POST', 'vms/bench-rg/big1/enable-replication', {});
    if (enable.status !== 202) throw new Error(`enable: ${enable.status} ${JSON.stringify(enable.body)}`);
    const enabled = await stack.waitForJob((enable.body.job as Job).id, { timeoutMs: 15 * 60_000 });
    const copySeconds = stepSeconds(enabled, 'Initial replication');

    const t0 = performance.now();
    const failover = await stack.api('POST', 'vms/bench-rg/big1/failover', {
      recoveryPoint: 'latestProcessed',
      shutdownSource: true,
    });
    if (failover.status !== 202)
      throw new Error(`failover: ${failover.status} ${JSON.stringify(failover.body)}`);
    await stack.waitForJob((failover.body.job as Job).id, { timeoutMs: 15 * 60_000 });
    const rto = (performance.now() - t0) / 1000;

    const rawMBps = bytes / MiB / rawSeconds;
    const copyMBps = bytes / MiB / copySeconds;
    return [
      {
        name: 'initial_replication.ratio',
        value: copyMBps / rawMBps,
        unit: `× raw copy (${copyMBps.toFixed(0)} vs ${rawMBps.toFixed(0)} MiB/s, ${(bytes / MiB).toFixed(0)} MiB)`,
        better: 'higher',
        goal: 0.8,
        baseline: 1,
        ratio: copyMBps / rawMBps,
      },
      {
        name: 'failover.rto_s',
        value: rto,
        unit: 's (request → VM running)',
        better: 'lower',
        goal: 30,
        baseline: rawSeconds,
        ratio: rto / rawSeconds,
      },
    ];
  } finally {
    await stack.stop();
  }
}
