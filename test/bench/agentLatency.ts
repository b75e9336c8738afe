/**
 * What journaling costs an NBD write: latency of 4 KiB writes through the agent's NBD server over
 * TCP with replication on (ReplicatedDisk journaling into a ChangeJournal that a DeltaShipper ships
 * to a real Azurite cache, as the agent does) ÷ the same server and disk with no journal attached
 * (replication off). Both sides serve a MemoryBlockDevice, so the figure isolates the journaling
 * cost; a page blob's own latency (a Put Page round trip) would dwarf and blur it. Measured side by
 * side in one run, alternating rounds between the two servers, by a raw NBD client in a worker
 * thread (its own event loop, as a real client would have) that sends one write at a time, queue
 * depth 1, and times each reply. A journaled round writes 12 MiB, so the shipper seals and uploads an
 * 8 MiB delta during it, on the server's event loop as in the agent (it shows in p99); before each
 * plain round the rest is shipped, untimed, so the plain side never pays for journaling.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

import { BlobServiceClient } from '@azure/storage-blob';

import { ChangeJournal } from '../../agent/changeJournal';
import { DeltaShipper } from '../../agent/deltaShipper';
import { BlobDeltaSink } from '../../agent/deltaSink';
import { MemoryBlockDevice } from '../../agent/memoryBlockDevice';
import { type NbdServer, startNbdServer } from '../../agent/nbd';
import { ReplicatedDisk } from '../../agent/replicatedDisk';
import { FileSequenceStore } from '../../agent/sequenceStore';
import { VmDisks } from '../../agent/vmDisks';
import { startAzurite } from '../../host/azurite';
import { MAX_DELTA_SAS_WINDOW } from '../../shared/agentConfig';
import { SystemClock } from '../../shared/clock';
import { silentLogger } from '../../shared/logger';
import { CONTAINERS } from '../../shared/storageNames';
import { issueTestCacheCredentials } from '../helpers/agentCredentials';
import { RawNbdClient } from '../integration/nbd/rawClient';
import type { BenchResult } from './types';

const MiB = 1024 * 1024;
const DISK = 256 * MiB;
const WRITE = 4096;
const WARMUP = 2000;
const ROUNDS = 8;
const PER_ROUND = 3072;
const GOAL_RATIO = 1.2;
const CLIENT_ROLE = 'tidemark-bench-nbd-client';
const NBD_CMD_WRITE = 1;

interface ClientJob {
  role: typeof CLIENT_ROLE;
  /** The journaled server first, then the plain one. */
  ports: [number, number];
}

/** Latencies in µs per side, [journaled, plain]. */
type ClientResult = [number[], number[]];

/** Worker → main: about to time a side (main answers 'go' once ready), or done. */
type ClientMessage = { kind: 'round'; side: 0 | 1 } | { kind: 'done'; result: ClientResult };

/** Waits for the main thread's go-ahead before timing a side. */
function ready(side: 0 | 1): Promise<void> {
  return new Promise((resolve) => {
    parentPort!.once('message', () => resolve());
    parentPort!.postMessage({ kind: 'round', side } satisfies ClientMessage);
  });
}

/** The worker: QD1 4 KiB writes at seeded random offsets, rounds alternating between the servers. */
async function clientMain(job: ClientJob): Promise<void> {
  const clients = await Promise.all(job.ports.map((port) => RawNbdClient.connect(port)));
  for (const c of clients) {
    c.socket.setNoDelay(true);
    await c.open('os');
  }
  const payloads = Array.from({ length: 64 }, (_, i) => Buffer.alloc(WRITE, i + 1));
  let x = 12345;
  let handle = 1n;
  const writeOne = async (c: RawNbdClient): Promise<number> => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const offset = (x % (DISK / WRITE)) * WRITE;
    const t0 = performance.now();
    c.sendRequest({ type: NBD_CMD_WRITE, handle: handle++, offset, payload: payloads[x & 63]! });
    const reply = await c.readReply();
    const us = (performance.now() - t0) * 1000;
    if (reply.error !== 0) throw new Error(`NBD write failed with error ${reply.error}`);
    return us;
  };
  for (const c of clients) for (let i = 0; i < WARMUP; i++) await writeOne(c);
  const result: ClientResult = [[], []];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which side goes first, so drift in the machine's load hits both alike.
    for (const side of round % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const)) {
      await ready(side);
      for (let i = 0; i < PER_ROUND; i++) result[side].push(await writeOne(clients[side]!));
    }
  }
  for (const c of clients) c.destroy();
  parentPort!.postMessage({ kind: 'done', result } satisfies ClientMessage);
}

// A failure rejects unhandled, which ends the worker with an 'error' event the main thread sees.
if (!isMainThread && (workerData as ClientJob | undefined)?.role === CLIENT_ROLE)
  void clientMain(workerData as ClientJob);

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** Runs the client worker; `beforeRound` runs before each timed round of a side. */
function runClient(job: ClientJob, beforeRound: (side: 0 | 1) => Promise<void>): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(__filename, { workerData: job });
    worker.on('message', (message: ClientMessage) => {
      if (message.kind === 'done') resolve(message.result);
      else beforeRound(message.side).then(() => worker.postMessage('go'), reject);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`NBD client worker exited with ${code}`));
    });
  });
}

async function serve(disks: VmDisks): Promise<NbdServer> {
  return startNbdServer({ exports: disks.exports, defaultExport: 'os', logger: silentLogger });
}

export async function benchAgentLatency(): Promise<BenchResult[]> {
  if (!__filename.endsWith('.js')) throw new Error('Run the agent latency bench from dist (npm run bench).');
  const azurite = await startAzurite();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-bench-agent-'));
  const servers: NbdServer[] = [];
  let shipper: DeltaShipper | undefined;
  try {
    // One window of the largest size: the bench ships far fewer deltas, so it needs no top-up.
    const credentials = issueTestCacheCredentials(azurite.connectionString, {
      resourceGroup: 'rg-bench',
      vm: 'vm-bench',
      window: MAX_DELTA_SAS_WINDOW,
    });
    await BlobServiceClient.fromConnectionString(azurite.connectionString)
      .getContainerClient(CONTAINERS.cache)
      .createIfNotExists();

    const clock = new SystemClock();
    const journal = new ChangeJournal({ clock, maxBufferBytes: 64 * MiB });
    shipper = new DeltaShipper({
      resourceGroup: 'rg-bench',
      vm: 'vm-bench',
      generation: 1,
      journal,
      sink: new BlobDeltaSink(credentials),
      sequences: new FileSequenceStore(stateDir),
      clock,
      logger: silentLogger,
    });
    await shipper.start();
    const journaled = new VmDisks([new ReplicatedDisk(0, new MemoryBlockDevice('os', DISK))]);
    await journaled.setJournal(journal);
    const plain = new VmDisks([new ReplicatedDisk(0, new MemoryBlockDevice('os', DISK))]);
    servers.push(await serve(journaled), await serve(plain));

    const ports: [number, number] = [servers[0]!.port, servers[1]!.port];
    const [on, off] = await runClient({ role: CLIENT_ROLE, ports }, async (side) => {
      if (side === 1) await shipper!.flush();
    });
    await shipper.flush();
    const shipped = shipper.status();
    if (shipped.health !== 'Healthy' || shipped.lastSequence === 0) {
      throw new Error(`The journaled side did not ship to the cache: ${JSON.stringify(shipped)}`);
    }
    on.sort((a, b) => a - b);
    off.sort((a, b) => a - b);
    const p50 = [percentile(on, 0.5), percentile(off, 0.5)] as const;
    const p99 = [percentile(on, 0.99), percentile(off, 0.99)] as const;
    return [
      {
        name: 'agent.write_latency.ratio',
        value: p50[0] / p50[1],
        unit: '×',
        better: 'lower',
        goal: GOAL_RATIO,
        baseline: 1,
        ratio: p50[0] / p50[1],
      },
      {
        name: 'agent.write_latency.p50_us',
        value: p50[0],
        unit: 'µs',
        better: 'lower',
        baseline: p50[1],
        ratio: p50[0] / p50[1],
      },
      {
        name: 'agent.write_latency.p99_us',
        value: p99[0],
        unit: 'µs',
        better: 'lower',
        baseline: p99[1],
        ratio: p99[0] / p99[1],
      },
    ];
  } finally {
    await Promise.all(servers.map((s) => s.close()));
    await shipper?.stop({ timeoutMs: 10_000 });
    await azurite.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}
