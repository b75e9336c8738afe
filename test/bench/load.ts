/**
 * Load: 50 VMs with 2 disks each and mixed churn, on one local host, for 10 minutes (issue 9).
 * Every VM is protected by hand (empty disks, replicas, Protected item, agent config). Their agents
 * run in a child process of their own (test/bench/loadAgents.ts), as real agents run on their VMs,
 * each with a seeded workload: 40 light VMs (random 4 KiB writes at 20 KB/s), 8 busy ones (hotspot,
 * 200 KB/s) and 2 heavy ones (sequential 64 KiB, 1 MB/s). The host runs in this process, against two
 * Azurites (source and target region), each a process of its own.
 *
 * Every 5 s the bench samples each VM's RPO (now − source time of its newest applied write), the
 * backlog (deltas uploaded and not yet applied), deltas applied and uploaded, and the CPU and RSS of
 * the host (this process), the agents' process and each Azurite, from /proc. It counts every
 * storage request the host and the agents make, by who makes it (storageRequests.ts); the bench's
 * own sampling is left out. After a 30 s warm-up:
 *
 *   load.rpo.p99_s             p99 over all VMs and samples; goal ≤ 5. The baseline is the agents'
 *                              flush interval (1 s), the RPO a perfect, instant applier shows.
 *   load.rpo.p50_s             the median
 *   load.backlog.max           most deltas waiting at one sample
 *   load.deltas_per_s          deltas applied per second; baseline: deltas the agents uploaded per
 *                              second in the same window (ratio 1: the host keeps up)
 *   load.put_pages_per_s       Put Pages the applier made per second; baseline: random 4 KiB Put
 *                              Pages per second the target Azurite takes alone, measured just before
 *                              the agents start (putPageCapacity.ts)
 *   load.put_pages_needed_per_s  that rate scaled by uploaded ÷ applied: what keeping up would take
 *   load.requests_per_delta.*  storage requests per applied delta: the host's in all, and by whom
 *                              (blob trigger, applier, the rest); the agents' own
 *   load.host.rss_max_mib      the host's peak RSS (bounded memory: the last third vs the first)
 *   load.cpu.*_percent         mean CPU of the host, the agents and each Azurite (100 = one core)
 *
 * TIDEMARK_BENCH_LOAD_SECONDS shortens the run (default 600); TIDEMARK_BENCH_LOAD_VMS sets the VM
 * count (default 50); TIDEMARK_BENCH_LOAD_DISKS=azurite puts the VMs' disks in the source Azurite
 * as page blobs (default: in-memory disks that keep nothing, see loadAgents.ts). The time series
 * goes to stderr as one JSON line per sample, then the request counts by label.
 */
import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { WorkloadSpec } from '../../agent/workload';
import { TableProtectedItemStore } from '../../shared/protectedItems';
import { protectVmByHand, startTidemarkStack } from '../helpers/tidemarkHost';
import type { FromAgents, LoadAgentsSpec, ToAgents } from './loadAgents';
import { putPageCapacity } from './putPageCapacity';
import { cpuPercent, type ProcReading, readProc } from './procStats';
import {
  addCounts,
  azuriteEndpoints,
  groupOf,
  RequestCounter,
  type RequestCounts,
  tagCacheReaders,
  total,
  unmetered,
} from './storageRequests';
import type { BenchResult } from './types';

const MiB = 1024 * 1024;
const FLUSH_MS = 1000;
const SAMPLE_MS = 5000;
const WARMUP_MS = 30_000;
const STOP_GRACE_MS = 15_000;
/**
 * The longest one sample's reads may take. A target Azurite swamped by a backlog can leave a table
 * query unanswered for minutes (the SDK sets no timeout); the run skips that sample and ends on time.
 */
const SAMPLE_READ_TIMEOUT_MS = 30_000;
/** How long the Put Page baseline runs. */
const CAPACITY_SECONDS = 10;
const RESOURCE_GROUP = 'load';
const DISKS = [
  { lun: 0, name: 'os', sizeBytes: 64 * MiB },
  { lun: 1, name: 'data', sizeBytes: 64 * MiB },
];

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `p` settles within `ms` (it goes on either way; a late rejection is dropped). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = p.then(
    () => true as const,
    () => true as const,
  );
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** `p`, or undefined when it has not answered within `ms`. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  p.catch(() => undefined);
  return (await settlesWithin(p, ms)) ? p : undefined;
}

function mean(values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN;
}

function workloadFor(index: number, seconds: number): WorkloadSpec {
  const durationMs = seconds * 1000;
  if (index < 2) return { pattern: 'sequential', rateMBps: 1, seed: index + 1, durationMs, disks: [0, 1] };
  if (index < 10) return { pattern: 'hotspot', rateMBps: 0.2, seed: index + 1, durationMs, disks: [0, 1] };
  return { pattern: 'random4k', rateMBps: 0.02, seed: index + 1, durationMs, disks: [0, 1] };
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The agents' process, spoken to over IPC (loadAgents.ts). */
class AgentsProcess {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, (m: FromAgents) => void>();
  #nextId = 0;
  #exited = false;

  constructor() {
    this.#child = fork(path.join(__dirname, 'loadAgents.js'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [],
    });
    this.#child.on('message', (m: FromAgents) => this.#waiting.get(m.id)?.(m));
    this.#child.once('exit', () => {
      this.#exited = true;
      for (const [id, w] of this.#waiting) w({ id, type: 'error', message: 'the agents process exited' });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  ask(question: DistributiveOmit<ToAgents, 'id'>, timeoutMs = 120_000): Promise<FromAgents> {
    const id = this.#nextId++;
    if (this.#exited) return Promise.resolve({ id, type: 'error', message: 'the agents process exited' });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`No answer to ${question.type} from the agents`));
      }, timeoutMs);
      this.#waiting.set(id, (m) => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        resolve(m);
      });
      this.#child.send({ ...question, id });
    });
  }

  /** Asks the agents to stop (each ships what it journaled), and kills them if they take over `timeoutMs`. */
  async stop(timeoutMs = 120_000): Promise<FromAgents | undefined> {
    if (this.#exited) return undefined;
    const answer = await this.ask({ type: 'stop' }, timeoutMs).catch(() => undefined);
    if (!this.#exited) {
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
        this.#child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
      });
    }
    return answer;
  }
}

interface Sampled {
  host?: ProcReading;
  agents?: ProcReading;
  source?: ProcReading;
  target?: ProcReading;
}

function stats(answer: FromAgents): Extract<FromAgents, { type: 'stats' | 'stopped' }> {
  if (answer.type === 'error') throw new Error(`The agents failed: ${answer.message}`);
  if (answer.type === 'ready') throw new Error('Unexpected answer from the agents');
  return answer;
}

function breakdown(counts: RequestCounts, applied: number, who: string): string {
  const rows = Object.entries(counts.requests).sort((a, b) => b[1] - a[1]);
  const lines = [`${who}: storage requests in the measured window, per applied delta (${applied} applied)`];
  for (const [label, n] of rows)
    lines.push(`  ${(n / applied).toFixed(3).padStart(8)}  ${String(n).padStart(8)}  ${label}`);
  const failures = Object.entries(counts.failures).sort((a, b) => b[1] - a[1]);
  if (failures.length) lines.push(`${who}: answers of 300 and above`);
  for (const [label, n] of failures)
    lines.push(`  ${(n / applied).toFixed(3).padStart(8)}  ${String(n).padStart(8)}  ${label}`);
  return lines.join('\n') + '\n';
}

export async function benchLoad(): Promise<BenchResult[]> {
  const seconds = Number(process.env.TIDEMARK_BENCH_LOAD_SECONDS ?? 600);
  const count = Number(process.env.TIDEMARK_BENCH_LOAD_VMS ?? 50);
  const disks = process.env.TIDEMARK_BENCH_LOAD_DISKS === 'azurite' ? 'azurite' : 'null';
  tagCacheReaders();
  const stack = await startTidemarkStack({ TIDEMARK_RECOVERY_POINT_SCHEDULE: '0 */1 * * * *' });
  const endpoints = new Map([
    ...azuriteEndpoints('source', stack.source),
    ...azuriteEndpoints('target', stack.target),
  ]);
  let agents: AgentsProcess | undefined;
  let counter: RequestCounter | undefined;
  try {
    const vms = Array.from({ length: count }, (_, i) => `vm${String(i).padStart(2, '0')}`);
    for (const vm of vms) {
      await protectVmByHand(stack, {
        resourceGroup: RESOURCE_GROUP,
        vm,
        disks: DISKS,
        flushIntervalMs: FLUSH_MS,
      });
    }
    const spec: LoadAgentsSpec = {
      sourceConnectionString: stack.source.connectionString,
      endpoints: [...endpoints],
      resourceGroup: RESOURCE_GROUP,
      stateRoot: fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-load-')),
      disks,
      diskSizes: DISKS,
      vms: vms.map((vm, i) => ({ vm, workload: workloadFor(i, seconds) })),
    };
    // Measured before the agents start, on the same target Azurite: see putPageCapacity.ts.
    const putPageBaseline = await putPageCapacity(stack.target.connectionString, CAPACITY_SECONDS);
    agents = new AgentsProcess();
    const ready = await agents.ask({ type: 'start', spec }, 300_000);
    if (ready.type !== 'ready') throw new Error(`The agents did not start: ${JSON.stringify(ready)}`);
    counter = new RequestCounter(endpoints);
    const agentsStartedAt = Date.now();

    const items = TableProtectedItemStore.fromConnectionString(stack.target.connectionString);
    const rpos: number[] = [];
    const backlogs: number[] = [];
    const rss: { at: number; mib: number }[] = [];
    const cpu = {
      host: [] as number[],
      agents: [] as number[],
      source: [] as number[],
      target: [] as number[],
    };
    const hostCounts: RequestCounts = { requests: {}, failures: {} };
    const agentCounts: RequestCounts = { requests: {}, failures: {} };
    let window: { appliedFrom: number; uploadedFrom: number; at: number } | undefined;
    let applied = 0;
    let uploaded = 0;
    let lastApplied = 0;
    let lastUploaded = 0;
    const read = (): Sampled => ({
      host: readProc(process.pid),
      agents: readProc(agents?.pid),
      source: readProc(stack.source.pid),
      target: readProc(stack.target.pid),
    });
    let before = read();
    let beforeAt = performance.now();
    const started = Date.now();
    while (Date.now() - started < seconds * 1000) {
      await sleep(SAMPLE_MS);
      const now = Date.now();
      const [listed, answer] = await Promise.all([
        within(
          unmetered(() => items.list(RESOURCE_GROUP)),
          SAMPLE_READ_TIMEOUT_MS,
        ),
        within(agents.ask({ type: 'stats' }), SAMPLE_READ_TIMEOUT_MS),
      ]);
      if (!listed || !answer) {
        process.stderr.write(
          `load: sample skipped, ${listed ? 'the agents' : 'the items table'} did not answer in ${SAMPLE_READ_TIMEOUT_MS / 1000} s\n`,
        );
        continue;
      }
      const agentStats = stats(answer);
      const hostSample = counter.take();
      const after = read();
      const elapsed = performance.now() - beforeAt;
      applied = listed.reduce((sum, it) => sum + it.watermark, 0);
      uploaded = agentStats.lastSequence;
      // A VM with nothing applied yet is behind since its agent started.
      const sampleRpos = listed.map((it) => (now - (it.watermarkTime ?? agentsStartedAt)) / 1000);
      const backlog = Math.max(0, uploaded - applied);
      const usage = {
        host: cpuPercent(before.host, after.host, elapsed),
        agents: cpuPercent(before.agents, after.agents, elapsed),
        source: cpuPercent(before.source, after.source, elapsed),
        target: cpuPercent(before.target, after.target, elapsed),
      };
      const mib = (after.host?.rssBytes ?? process.memoryUsage().rss) / MiB;
      const sample = {
        t: Math.round((now - started) / 1000),
        rpoP50: percentile(sampleRpos, 50),
        rpoP99: percentile(sampleRpos, 99),
        rpoMax: Math.max(...sampleRpos),
        backlog,
        appliedPerS: +(((applied - lastApplied) * 1000) / elapsed).toFixed(1),
        uploadedPerS: +(((uploaded - lastUploaded) * 1000) / elapsed).toFixed(1),
        hostRequestsPerS: Math.round((total(hostSample.requests) * 1000) / elapsed),
        agentRequestsPerS: Math.round((total(agentStats.counts.requests) * 1000) / elapsed),
        cpu: Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, Math.round(v)])),
        rssMiB: {
          host: Math.round(mib),
          agents: Math.round((after.agents?.rssBytes ?? NaN) / MiB),
          source: Math.round((after.source?.rssBytes ?? NaN) / MiB),
          target: Math.round((after.target?.rssBytes ?? NaN) / MiB),
        },
      };
      process.stderr.write(`${JSON.stringify(sample)}\n`);
      rss.push({ at: now - started, mib });
      before = after;
      beforeAt += elapsed;
      lastApplied = applied;
      lastUploaded = uploaded;
      if (now - started < WARMUP_MS) continue;
      if (!window) {
        // The first sample after the warm-up opens the measured window.
        window = { appliedFrom: applied, uploadedFrom: uploaded, at: performance.now() };
        continue;
      }
      addCounts(hostCounts, hostSample);
      addCounts(agentCounts, agentStats.counts);
      for (const k of Object.keys(cpu) as (keyof typeof cpu)[]) cpu[k].push(usage[k]);
      rpos.push(...sampleRpos);
      backlogs.push(backlog);
    }
    if (!window)
      throw new Error('The run ended before the warm-up did; set TIDEMARK_BENCH_LOAD_SECONDS above 40.');
    const windowS = (performance.now() - window.at) / 1000;
    const appliedInWindow = Math.max(1, applied - window.appliedFrom);
    const uploadedInWindow = uploaded - window.uploadedFrom;
    process.stderr.write(breakdown(hostCounts, appliedInWindow, 'host'));
    process.stderr.write(breakdown(agentCounts, appliedInWindow, 'agents'));

    const p99 = percentile(rpos, 99);
    const third = Math.max(1, Math.floor(rss.length / 3));
    const early = Math.max(...rss.slice(0, third).map((s) => s.mib));
    const late = Math.max(...rss.slice(-third).map((s) => s.mib));
    const baseline = FLUSH_MS / 1000;
    const perDelta = (n: number): number => n / appliedInWindow;
    const hostTotal = total(hostCounts.requests);
    const trigger = Object.entries(hostCounts.requests)
      .filter(([label]) => groupOf(label).startsWith('trigger.'))
      .reduce((sum, [, n]) => sum + n, 0);
    // The protected item's reads and writes are nearly all the applier's (a point cut reads it too).
    const applier =
      total(hostCounts.requests, 'applier') +
      (hostCounts.requests['items get'] ?? 0) +
      (hostCounts.requests['items update'] ?? 0);
    const appliedPerS = appliedInWindow / windowS;
    const uploadedPerS = uploadedInWindow / windowS;
    const putPagesPerS = (hostCounts.requests['applier put page'] ?? 0) / windowS;
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
        name: 'load.deltas_per_s',
        value: appliedPerS,
        unit: 'applied/s (baseline: uploaded/s)',
        better: 'higher',
        baseline: uploadedPerS,
        ratio: appliedPerS / uploadedPerS,
      },
      {
        name: 'load.put_pages_per_s',
        value: putPagesPerS,
        unit: 'Put Pages/s applied (baseline: random 4 KiB Put Pages/s the target Azurite takes alone)',
        better: 'higher',
        baseline: putPageBaseline,
        ratio: putPagesPerS / putPageBaseline,
      },
      {
        // What keeping up would take: the Put Pages of the deltas applied, scaled to all uploaded.
        name: 'load.put_pages_needed_per_s',
        value: (putPagesPerS * uploadedPerS) / appliedPerS,
        unit: 'Put Pages/s (estimate; baseline as above)',
        better: 'lower',
        baseline: putPageBaseline,
        ratio: (putPagesPerS * uploadedPerS) / appliedPerS / putPageBaseline,
      },
      {
        name: 'load.requests_per_delta.host',
        value: perDelta(hostTotal),
        unit: 'requests/delta (all the host made)',
        better: 'lower',
      },
      {
        name: 'load.requests_per_delta.trigger',
        value: perDelta(trigger),
        unit: 'requests/delta (blob trigger)',
        better: 'lower',
      },
      {
        name: 'load.requests_per_delta.applier',
        value: perDelta(applier),
        unit: 'requests/delta (applier, with item reads and updates)',
        better: 'lower',
      },
      {
        name: 'load.requests_per_delta.rest',
        value: perDelta(hostTotal - trigger - applier),
        unit: 'requests/delta (items, timers, durable, …)',
        better: 'lower',
      },
      {
        name: 'load.requests_per_delta.agents',
        value: perDelta(total(agentCounts.requests)),
        unit: 'requests/delta (agents)',
        better: 'lower',
      },
      {
        name: 'load.host.rss_max_mib',
        value: Math.max(...rss.map((s) => s.mib)),
        unit: `MiB (first third ${early.toFixed(0)}, last third ${late.toFixed(0)})`,
        better: 'lower',
        baseline: early,
        ratio: late / early,
      },
      ...(['host', 'agents', 'source', 'target'] as const).map((k): BenchResult => ({
        name: `load.cpu.${k}_percent`,
        value: mean(cpu[k]),
        unit: `% of a core (${k === 'source' || k === 'target' ? `${k} Azurite` : k})`,
        better: 'lower',
      })),
    ];
  } finally {
    counter?.dispose();
    // The agents' last flush is not measured: they get a while, then they are killed.
    await agents?.stop(STOP_GRACE_MS);
    // The host finishes the invocations in flight before it stops, and with a backlog those drain
    // for minutes: give them a while, then stop the Azurites under them so they fail fast. Those
    // still retrying against storage that is gone (the SDK backs off for minutes) are not waited
    // for: run.ts exits once the results are printed.
    const stopped = stack.stop();
    if (!(await settlesWithin(stopped, STOP_GRACE_MS))) {
      await Promise.all([stack.source.stop(), stack.target.stop()]);
      if (!(await settlesWithin(stopped, STOP_GRACE_MS))) {
        process.stderr.write('load: the host was still stopping; the process exit ends it\n');
      }
    }
  }
}
