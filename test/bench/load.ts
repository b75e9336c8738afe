/**
 * Load: 50 VMs with 2 disks each and mixed churn, on one local host, for 10 minutes (issue 9).
 * Every VM is protected by hand (empty disks, replicas, Protected item, agent config) and its agent
 * runs a seeded workload: 40 light VMs (random 4 KiB writes at 20 KB/s), 8 busy ones (hotspot,
 * 200 KB/s) and 2 heavy ones (sequential 64 KiB, 1 MB/s). Every 5 s the bench samples each VM's RPO
 * (now − source time of its newest applied write), the cache backlog (deltas waiting), and this
 * process's memory and CPU (the host, the agents and Azurite's clients all run here; Azurite runs in
 * its own processes and is sampled too when /proc allows).
 *
 *   load.rpo.p99_s        p99 over all VMs and samples after a 30 s warm-up; goal ≤ 5. The baseline
 *                         is the agents' flush interval (1 s), the RPO a perfect, instant applier shows.
 *   load.backlog.max      most deltas waiting in the cache at one sample
 *   load.rss.max_mib      peak RSS of the process (bounded memory: the last third vs the first)
 *
 * TIDEMARK_BENCH_LOAD_SECONDS shortens the run (default 600); TIDEMARK_BENCH_LOAD_VMS the VM count
 * (default 50). The time series goes to stderr as one JSON line per sample.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BlobServiceClient } from '@azure/storage-blob';

import { MobilityAgent } from '../../agent/agent';
import type { WorkloadSpec } from '../../agent/workload';
import { silentLogger } from '../../shared/logger';
import { TableProtectedItemStore } from '../../shared/protectedItems';
import { CONTAINERS } from '../../shared/storageNames';
import { protectVmByHand, startTidemarkStack } from '../helpers/tidemarkHost';
import type { BenchResult } from './types';

const MiB = 1024 * 1024;
const FLUSH_MS = 1000;
const SAMPLE_MS = 5000;
const WARMUP_MS = 30_000;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function workloadFor(index: number, seconds: number): WorkloadSpec {
  const durationMs = seconds * 1000;
  if (index < 2) return { pattern: 'sequential', rateMBps: 1, seed: index + 1, durationMs, disks: [0, 1] };
  if (index < 10) return { pattern: 'hotspot', rateMBps: 0.2, seed: index + 1, durationMs, disks: [0, 1] };
  return { pattern: 'random4k', rateMBps: 0.02, seed: index + 1, durationMs, disks: [0, 1] };
}

export async function benchLoad(): Promise<BenchResult[]> {
  const seconds = Number(process.env.TIDEMARK_BENCH_LOAD_SECONDS ?? 600);
  const count = Number(process.env.TIDEMARK_BENCH_LOAD_VMS ?? 50);
  const stack = await startTidemarkStack({ TIDEMARK_RECOVERY_POINT_SCHEDULE: '0 */1 * * * *' });
  const agents: MobilityAgent[] = [];
  try {
    const vms = Array.from({ length: count }, (_, i) => `vm${String(i).padStart(2, '0')}`);
    for (const vm of vms) {
      await protectVmByHand(stack, {
        resourceGroup: 'load',
        vm,
        disks: [
          { lun: 0, name: 'os', sizeBytes: 64 * MiB },
          { lun: 1, name: 'data', sizeBytes: 64 * MiB },
        ],
        flushIntervalMs: FLUSH_MS,
      });
    }
    const stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-load-'));
    for (const [i, vm] of vms.entries()) {
      const agent = new MobilityAgent({
        resourceGroup: 'load',
        vm,
        sourceConnectionString: stack.source.connectionString,
        stateDir: path.join(stateRoot, vm),
        logger: silentLogger,
        configPollIntervalMs: 1000,
        workload: workloadFor(i, seconds),
      });
      await agent.start();
      agents.push(agent);
    }

    const items = TableProtectedItemStore.fromConnectionString(stack.target.connectionString);
    const cache = BlobServiceClient.fromConnectionString(stack.source.connectionString).getContainerClient(
      CONTAINERS.cache,
    );
    const rpos: number[] = [];
    const backlogs: number[] = [];
    const rss: { at: number; mib: number }[] = [];
    const started = Date.now();
    let cpu = process.cpuUsage();
    let cpuAt = performance.now();
    while (Date.now() - started < seconds * 1000) {
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
      const now = Date.now();
      const listed = await items.list('load');
      let backlog = 0;
      for await (const blob of cache.listBlobsFlat({ prefix: 'load/' }))
        if (blob.name.endsWith('.delta')) backlog++;
      const used = process.cpuUsage(cpu);
      const elapsed = performance.now() - cpuAt;
      cpu = process.cpuUsage();
      cpuAt = performance.now();
      const mib = process.memoryUsage().rss / MiB;
      const sampleRpos = listed.map((it) => (it.watermarkTime ? (now - it.watermarkTime) / 1000 : NaN));
      const sample = {
        t: Math.round((now - started) / 1000),
        rpoP99: percentile(sampleRpos, 99),
        rpoMax: Math.max(...sampleRpos),
        backlog,
        rssMiB: Math.round(mib),
        cpuPercent: Math.round(((used.user + used.system) / 1000 / elapsed) * 100),
      };
      process.stderr.write(`${JSON.stringify(sample)}\n`);
      rss.push({ at: now - started, mib });
      if (now - started < WARMUP_MS) continue;
      rpos.push(...sampleRpos.filter((r) => Number.isFinite(r)));
      backlogs.push(backlog);
    }
    const p99 = percentile(rpos, 99);
    const third = Math.max(1, Math.floor(rss.length / 3));
    const early = Math.max(...rss.slice(0, third).map((s) => s.mib));
    const late = Math.max(...rss.slice(-third).map((s) => s.mib));
    const baseline = FLUSH_MS / 1000;
    return [
      {
        name: 'load.rpo.p99_s',
        value: p99,
        unit: `s (${count} VMs)`,
        better: 'lower',
        goal: 5,
        baseline,
        ratio: p99 / baseline,
      },
      {
        name: 'load.rpo.p50_s',
        value: percentile(rpos, 50),
        unit: 's',
        better: 'lower',
        baseline,
        ratio: percentile(rpos, 50) / baseline,
      },
      { name: 'load.backlog.max', value: Math.max(0, ...backlogs), unit: 'deltas', better: 'lower' },
      {
        name: 'load.rss.max_mib',
        value: Math.max(...rss.map((s) => s.mib)),
        unit: `MiB (first third ${early.toFixed(0)}, last third ${late.toFixed(0)})`,
        better: 'lower',
        baseline: early,
        ratio: late / early,
      },
    ];
  } finally {
    await Promise.allSettled(agents.map((a) => a.stop()));
    await stack.stop();
  }
}
