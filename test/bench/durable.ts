/**
 * Durable engine benchmarks: 10-activity chains (`chainN` of the durable fixture app) on a host
 * against Azurite, beside a baseline that invokes the same activity 10 times directly through the
 * host's invoker in the same run.
 *  - durable.activity.overhead_ms: median time per chained activity beyond the activity's own
 *    invocation (goal <= 25 ms).
 *  - durable.chain10.per_second: 10-activity chains completed per second, one after another.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startAzurite } from '../../host/azurite';
import { startHost } from '../../host/startHost';
import type { LogFields, Logger } from '../../shared/logger';
import type { BenchResult } from './types';

const CHAIN = 10;
const WARMUP = 3;
const RUNS = 15;

/** A logger that drops everything but tells when an instance's final episode committed. */
class CompletionWatcher implements Logger {
  readonly #waiters = new Map<string, () => void>();

  constructor(
    private readonly bound: LogFields = {},
    private readonly root?: CompletionWatcher,
  ) {}

  until(instanceId: string): Promise<void> {
    return new Promise((resolve) => (this.root ?? this).#waiters.set(instanceId, resolve));
  }

  debug(msg: string, fields?: LogFields): void {
    if (msg !== 'Episode committed' || fields?.status !== 'Completed') return;
    const root = this.root ?? this;
    const id = String(fields.instanceId);
    root.#waiters.get(id)?.();
    root.#waiters.delete(id);
  }
  trace(): void {}
  info(): void {}
  warn(): void {}
  error(msg: string, fields?: LogFields): void {
    process.stderr.write(`${msg} ${JSON.stringify({ ...this.bound, ...fields })}\n`);
  }
  child(fields: LogFields): Logger {
    return new CompletionWatcher({ ...this.bound, ...fields }, this.root ?? this);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export async function benchDurable(): Promise<BenchResult[]> {
  const azurite = await startAzurite();
  const logger = new CompletionWatcher();
  const host = startHost({
    appDir: path.resolve('test/fixtures/durable-app'),
    port: 0,
    logger,
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-durable-')),
    useProcessEnv: false,
    settings: {
      AzureWebJobsStorage: azurite.connectionString,
      DURABLE_HUB: `bench${Date.now().toString(36)}`,
    },
  });
  try {
    await host.ready;
    const activity = host.functions.find((f) => f.metadata.name === 'double');
    if (!activity) throw new Error('the durable fixture app has no "double" activity');

    const chainOnce = async (i: number): Promise<number> => {
      const id = `chain-${i}`;
      const done = logger.until(id);
      const started = performance.now();
      const res = await fetch(`${host.url}/durabletask/orchestrators/chainN/${id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: String(CHAIN),
      });
      if (res.status !== 202) throw new Error(`starting chainN failed: HTTP ${res.status}`);
      await done;
      return performance.now() - started;
    };
    const directOnce = async (): Promise<number> => {
      const started = performance.now();
      let value = 1;
      for (let i = 0; i < CHAIN; i++) {
        const out = await host.services.invoker.invoke(activity, { triggerData: { string: String(value) } });
        value = Number(out.response?.returnValue?.int ?? out.response?.returnValue?.double);
      }
      return performance.now() - started;
    };

    for (let i = 0; i < WARMUP; i++) {
      await chainOnce(-1 - i);
      await directOnce();
    }
    const chains: number[] = [];
    const directs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      chains.push(await chainOnce(i));
      directs.push(await directOnce());
    }
    const direct = median(directs);
    const overheads = chains.map((ms) => (ms - direct) / CHAIN);
    const overhead = median(overheads);
    const perActivityDirect = direct / CHAIN;
    const chainRate = 1000 / median(chains);
    const directRate = 1000 / direct;
    return [
      {
        name: 'durable.activity.overhead_ms',
        value: overhead,
        unit: 'ms',
        better: 'lower',
        goal: 25,
        baseline: perActivityDirect,
        ratio: overhead / perActivityDirect,
      },
      {
        name: 'durable.chain10.per_second',
        value: chainRate,
        unit: 'chains/s',
        better: 'higher',
        baseline: directRate,
        ratio: chainRate / directRate,
      },
    ];
  } finally {
    await host.dispose();
    await azurite.stop();
  }
}
