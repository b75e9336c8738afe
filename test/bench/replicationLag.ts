/**
 * Replication lag under sustained churn, end to end: a VM's agent writes 5 MB/s (seeded sequential
 * 64 KiB writes) for 60 s; deltas go to the cache; tidemark's applyDelta, run by the local host,
 * applies them. Every 100 ms the bench reads how far the replica is behind the source
 * (now − source time of the newest applied write). Reports the p99 after a 5 s warm-up; goal ≤ 2 s.
 * The baseline is the agent's flush interval (1 s): the lag a perfect, instant applier would show
 * at its worst. Set TIDEMARK_BENCH_LAG_SECONDS to shorten the run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { MobilityAgent } from '../../agent/agent';
import { silentLogger } from '../../shared/logger';
import { TableProtectedItemStore } from '../../shared/protectedItems';
import { protectVmByHand, startTidemarkStack } from '../helpers/tidemarkHost';
import type { BenchResult } from './types';

const MiB = 1024 * 1024;
const FLUSH_MS = 1000;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export async function benchReplicationLag(): Promise<BenchResult[]> {
  const seconds = Number(process.env.TIDEMARK_BENCH_LAG_SECONDS ?? 60);
  const stack = await startTidemarkStack({ 'AzureWebJobs.sweepCache.Disabled': 'true' });
  let agent: MobilityAgent | undefined;
  try {
    const size = 512 * MiB;
    await protectVmByHand(stack, {
      resourceGroup: 'bench',
      vm: 'lag1',
      disks: [{ lun: 0, name: 'os', sizeBytes: size }],
      flushIntervalMs: FLUSH_MS,
    });
    const items = TableProtectedItemStore.fromConnectionString(stack.target.connectionString);
    agent = new MobilityAgent({
      resourceGroup: 'bench',
      vm: 'lag1',
      sourceConnectionString: stack.source.connectionString,
      stateDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-bench-agent-')),
      logger: silentLogger,
      configPollIntervalMs: 200,
      workload: { pattern: 'sequential', rateMBps: 5, seed: 7, durationMs: seconds * 1000 },
    });
    await agent.start();
    const samples: number[] = [];
    const started = Date.now();
    while (Date.now() - started < seconds * 1000) {
      await new Promise((r) => setTimeout(r, 100));
      const item = await items.get('bench', 'lag1');
      if (Date.now() - started < 5_000 || !item?.watermarkTime) continue;
      samples.push((Date.now() - item.watermarkTime) / 1000);
    }
    const stats = await agent.workloadDone;
    const p99 = percentile(samples, 99);
    const baseline = FLUSH_MS / 1000;
    return [
      {
        name: 'replication.lag.p99_s',
        value: p99,
        unit: 's',
        better: 'lower',
        goal: 2,
        baseline,
        ratio: p99 / baseline,
      },
      {
        name: 'replication.lag.p50_s',
        value: percentile(samples, 50),
        unit: 's',
        better: 'lower',
        baseline,
        ratio: percentile(samples, 50) / baseline,
      },
      {
        name: 'replication.churn.mb_s',
        value: (stats?.bytes ?? 0) / 1e6 / seconds,
        unit: 'MB/s',
        better: 'higher',
      },
    ];
  } finally {
    await agent?.stop();
    await stack.stop();
  }
}
