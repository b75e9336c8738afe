/**
 * `npm run bench [-- --json FILE] [-- --only PREFIX]`: runs every benchmark, prints a table and
 * optionally writes the figures as JSON. Each figure stands beside a baseline measured in the same run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { BenchResult } from './types';

interface Suite {
  name: string;
  run: () => Promise<BenchResult[]>;
}

// Loaded lazily so one suite's import cost doesn't weigh on another.
const suites: Suite[] = [
  { name: 'delta', run: async () => (await import('./deltaCodec')).benchDeltaCodec() },
  { name: 'apply', run: async () => (await import('./applier')).benchApplier() },
  { name: 'replication', run: async () => (await import('./replicationLag')).benchReplicationLag() },
  { name: 'host.http', run: async () => (await import('./hostHttp')).benchHostHttp() },
  { name: 'host.blob', run: async () => (await import('./hostBlob')).benchHostBlob() },
  { name: 'durable', run: async () => (await import('./durable')).benchDurable() },
  { name: 'agent', run: async () => (await import('./agentLatency')).benchAgentLatency() },
  { name: 'rp', run: async () => (await import('./recoveryPoints')).benchRecoveryPoints() },
  { name: 'workflows', run: async () => (await import('./workflows')).benchWorkflows() },
  { name: 'load', run: async () => (await import('./load')).benchLoad() },
];

function parseArgs(argv: string[]): { json?: string; only?: string } {
  const out: { json?: string; only?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') out.json = argv[++i];
    else if (arg === '--only') out.only = argv[++i];
    else throw new Error(`Unknown argument "${arg}". Usage: npm run bench -- [--json FILE] [--only PREFIX]`);
  }
  if ('json' in out && !out.json) throw new Error('--json needs a file name.');
  return out;
}

function fmt(n: number | undefined): string {
  if (n === undefined) return '';
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

function meetsGoal(r: BenchResult): string {
  if (r.goal === undefined) return '';
  const ok = r.better === 'higher' ? r.value >= r.goal : r.value <= r.goal;
  return ok ? 'yes' : 'NO';
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // Benchmarks find fixture apps relative to the repository root.
  process.chdir(path.resolve(__dirname, '..', '..', '..'));
  const results: BenchResult[] = [];
  for (const suite of suites) {
    if (args.only && !suite.name.startsWith(args.only)) continue;
    process.stderr.write(`running ${suite.name} ...\n`);
    results.push(...(await suite.run()));
  }
  const rows = results.map((r) => [
    r.name,
    fmt(r.value),
    r.unit,
    r.better,
    fmt(r.goal),
    fmt(r.baseline),
    fmt(r.ratio),
    meetsGoal(r),
  ]);
  const header = ['name', 'value', 'unit', 'better', 'goal', 'baseline', 'ratio', 'goal met'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  process.stdout.write(
    `machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}\n`,
  );
  process.stdout.write(line(header) + '\n' + widths.map((w) => '-'.repeat(w)).join('  ') + '\n');
  for (const row of rows) process.stdout.write(line(row) + '\n');
  if (args.json) {
    fs.writeFileSync(args.json, JSON.stringify(results, null, 2) + '\n');
    process.stdout.write(`wrote ${args.json}\n`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
