/**
 * A built-in write generator for demos and benchmarks: sequential, random 4 KiB or hot-spot writes
 * at a set rate, one write at a time (queue depth 1). Everything it writes, where and what, follows
 * from the seed, so a test can replay the plan (WorkloadPlan) and predict the disks byte for byte.
 * The rate is a token bucket on the injected clock; latency is wall time per write.
 *
 *   sequential  each disk from offset 0 in blockSize steps, wrapping at its end
 *   random4k    uniform offsets aligned to blockSize
 *   hotspot     80 % of writes in a seeded window of 5 % of each disk, 20 % in the rest
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';

import { z } from 'zod';

import type { Clock } from '../shared/clock';
import { TidemarkError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { BlockDevice } from './blockDevice';

/** Rates are in MB/s of 10^6 bytes. */
export const MB = 1_000_000;
const KiB = 1024;
export const MAX_BLOCK_SIZE = 32 * 1024 * KiB;
export const HOTSPOT_SHARE = 0.8;
export const HOTSPOT_FRACTION = 0.05;
/** The bucket holds this much time's worth of writes, so timer lateness does not lower the rate. */
const BURST_MS = 50;
const LITTLE_ENDIAN = os.endianness() === 'LE';

export const WORKLOAD_PATTERNS = ['sequential', 'random4k', 'hotspot'] as const;
export type WorkloadPattern = (typeof WORKLOAD_PATTERNS)[number];

const DEFAULT_BLOCK_SIZE: Record<WorkloadPattern, number> = {
  sequential: 64 * KiB,
  random4k: 4 * KiB,
  hotspot: 4 * KiB,
};

const positiveMultipleOf512 = (field: string, example: string) =>
  z
    .number({ error: `${field} must be a number of bytes, e.g. ${example}` })
    .int(`${field} must be a whole number of bytes, e.g. ${example}`)
    .positive(`${field} must be above 0, e.g. ${example}`)
    .multipleOf(512, `${field} must be a multiple of 512 bytes, e.g. ${example}`);

const workloadSpecSchema = z.strictObject({
  pattern: z.enum(WORKLOAD_PATTERNS, { error: 'pattern must be sequential, random4k or hotspot' }),
  rateMBps: z
    .number({ error: 'rateMBps must be a number of MB/s, e.g. 10' })
    .positive('rateMBps must be above 0, e.g. 10 for 10 MB/s')
    .max(100_000, 'rateMBps must be at most 100000 MB/s'),
  seed: z
    .number({ error: 'seed must be an integer, e.g. 1' })
    .int('seed must be an integer, e.g. 1')
    .min(0, 'seed must be from 0 to 4294967295')
    .max(0xffff_ffff, 'seed must be from 0 to 4294967295'),
  durationMs: z
    .number({ error: 'durationMs must be a number of milliseconds, e.g. 60000' })
    .int('durationMs must be a whole number of milliseconds, e.g. 60000')
    .positive('durationMs must be above 0; leave it out to run until stopped')
    .optional(),
  totalBytes: positiveMultipleOf512('totalBytes', '104857600').optional(),
  blockSize: positiveMultipleOf512('blockSize', '65536')
    .max(MAX_BLOCK_SIZE, `blockSize must be at most ${MAX_BLOCK_SIZE} bytes (32 MiB, the NBD maximum)`)
    .optional(),
  disks: z
    .array(
      z
        .number({ error: 'disks must hold disk indexes, e.g. [0, 1]' })
        .int('disks must hold whole disk indexes, e.g. [0, 1]')
        .min(0, 'disks must hold indexes from 0, e.g. [0, 1]'),
      { error: 'disks must be an array of disk indexes, e.g. [0, 1]' },
    )
    .min(1, 'disks must name at least one disk; leave it out for all disks')
    .refine((d) => new Set(d).size === d.length, 'disks must not name a disk twice')
    .optional(),
});

/** A workload as callers give it. */
export type WorkloadSpec = z.input<typeof workloadSpecSchema>;
/** A checked workload with its block size filled in. */
export type ResolvedWorkloadSpec = z.output<typeof workloadSpecSchema> & { blockSize: number };

/** Checks a spec; an InvalidArgument error names every bad field and how to fix it. */
export function parseWorkloadSpec(value: unknown): ResolvedWorkloadSpec {
  const result = workloadSpecSchema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({
      field: i.path.join('.') || '(spec)',
      problem: i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.join(', ')}` : i.message,
    }));
    throw new TidemarkError(
      'InvalidArgument',
      `Workload spec is invalid: ${issues.map((i) => `${i.field}: ${i.problem}`).join('; ')}`,
      {
        hint: 'Fields: pattern, rateMBps, seed, and optionally durationMs, totalBytes, blockSize, disks.',
        details: { fields: issues.map((i) => i.field), issues },
      },
    );
  }
  return { ...result.data, blockSize: result.data.blockSize ?? DEFAULT_BLOCK_SIZE[result.data.pattern] };
}

/** mulberry32: a small, fast 32-bit PRNG; enough for spreading writes, not for secrets. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

export interface PlannedWrite {
  /** Index into the disks the plan was made for. */
  disk: number;
  offset: number;
  data: Buffer;
}

/** The writes of a workload, in order; the same spec and disk sizes always give the same writes. */
export class WorkloadPlan {
  readonly #spec: ResolvedWorkloadSpec;
  readonly #sizes: readonly number[];
  readonly #u32: () => number;
  readonly #cursors: number[];
  /** Per disk: the hot-spot window's first slot and its length in slots. */
  readonly #hot: { start: number; slots: number }[];
  #turn = 0;

  constructor(spec: ResolvedWorkloadSpec, diskSizes: readonly number[]) {
    this.#spec = spec;
    this.#sizes = diskSizes;
    this.#u32 = seededRandom(spec.seed);
    this.#cursors = diskSizes.map(() => 0);
    this.#hot = diskSizes.map((size) => {
      const slots = Math.floor(size / spec.blockSize);
      const hotSlots = Math.max(1, Math.floor(slots * HOTSPOT_FRACTION));
      return { start: this.#below(slots - hotSlots + 1), slots: hotSlots };
    });
  }

  /** The hot-spot window of a disk, in bytes. */
  hotWindow(disk: number): { offset: number; length: number } {
    const w = this.#hot[disk]!;
    return { offset: w.start * this.#spec.blockSize, length: w.slots * this.#spec.blockSize };
  }

  /** The next write, at most `maxLength` bytes long (a multiple of 512). Disks take turns. */
  next(maxLength = Infinity): PlannedWrite {
    const disk = this.#turn;
    this.#turn = (this.#turn + 1) % this.#sizes.length;
    const size = this.#sizes[disk]!;
    const block = this.#spec.blockSize;
    if (this.#spec.pattern === 'sequential') {
      const offset = this.#cursors[disk]!;
      const length = Math.min(block, size - offset, maxLength);
      this.#cursors[disk] = offset + length >= size ? 0 : offset + length;
      return { disk, offset, data: this.#data(length) };
    }
    const slots = Math.floor(size / block);
    const slot = this.#spec.pattern === 'random4k' ? this.#below(slots) : this.#hotspotSlot(disk, slots);
    return { disk, offset: slot * block, data: this.#data(Math.min(block, maxLength)) };
  }

  #hotspotSlot(disk: number, slots: number): number {
    const hot = this.#hot[disk]!;
    const coldSlots = slots - hot.slots;
    if (coldSlots === 0 || this.#u32() < HOTSPOT_SHARE * 2 ** 32) return hot.start + this.#below(hot.slots);
    const slot = this.#below(coldSlots);
    return slot < hot.start ? slot : slot + hot.slots;
  }

  /** A uniform integer in [0, n), for n up to 2^53. */
  #below(n: number): number {
    const unit = (this.#u32() * 2 ** 21 + (this.#u32() >>> 11)) / 2 ** 53;
    return Math.floor(unit * n);
  }

  /** Seeded bytes: xorshift32 words from a per-write seed, little-endian. */
  #data(length: number): Buffer {
    const data = Buffer.allocUnsafeSlow(length);
    let x = this.#u32() || 1;
    // A word view is several times faster than writeInt32LE, and is little-endian on LE hosts.
    const words = LITTLE_ENDIAN ? new Int32Array(data.buffer, data.byteOffset, length >> 2) : undefined;
    for (let i = 0; i < length >> 2; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      if (words) words[i] = x;
      else data.writeInt32LE(x | 0, i << 2);
    }
    return data;
  }
}

export interface WorkloadStats {
  pattern: WorkloadPattern;
  bytes: number;
  writes: number;
  /** On the injected clock, from start to the last write (or to the end of durationMs). */
  elapsedMs: number;
  /** bytes ÷ elapsed, in MB/s of 10^6 bytes. */
  mbPerSecond: number;
  /** Wall time of each write call, in ms; percentiles within 1 %. */
  latencyMs: { p50: number; p99: number; max: number };
  stoppedBy: 'duration' | 'totalBytes' | 'signal';
}

export interface WorkloadOptions {
  clock: Clock;
  logger: Logger;
  /** Stops the workload after the write in flight; the stats so far are returned. */
  signal?: AbortSignal;
}

/**
 * Runs a workload on `disks` until durationMs or totalBytes is reached, or the signal aborts (with
 * neither set it runs until aborted). A failing write rejects with the device's error.
 */
export async function runWorkload(
  disks: readonly BlockDevice[],
  spec: WorkloadSpec,
  options: WorkloadOptions,
): Promise<WorkloadStats> {
  const s = parseWorkloadSpec(spec);
  const targets = selectDisks(disks, s);
  const plan = new WorkloadPlan(
    s,
    targets.map((d) => d.size),
  );
  const { clock, signal, logger } = options;
  const start = clock.now();
  const deadline = s.durationMs === undefined ? Infinity : start + s.durationMs;
  const bytesPerMs = (s.rateMBps * MB) / 1000;
  const bucket = new TokenBucket(
    clock,
    bytesPerMs,
    Math.max(s.blockSize, bytesPerMs * BURST_MS),
    s.blockSize,
  );
  const latency = new LatencyHistogram();
  let bytes = 0;
  let writes = 0;
  let stoppedBy: WorkloadStats['stoppedBy'] = 'signal';
  logger.info('Workload started', {
    pattern: s.pattern,
    rateMBps: s.rateMBps,
    seed: s.seed,
    blockSize: s.blockSize,
    disks: targets.map((d) => d.name),
  });
  while (!signal?.aborted) {
    const left = (s.totalBytes ?? Infinity) - bytes;
    if (left <= 0) {
      stoppedBy = 'totalBytes';
      break;
    }
    const write = plan.next(left);
    const admitted = await bucket.take(write.data.length, deadline, signal);
    if (admitted !== 'ok') {
      stoppedBy = admitted;
      break;
    }
    const t0 = performance.now();
    await targets[write.disk]!.write(write.offset, write.data, { fua: false });
    latency.record(performance.now() - t0);
    bytes += write.data.length;
    writes++;
  }
  const elapsedMs = Math.min(clock.now(), deadline) - start;
  const stats: WorkloadStats = {
    pattern: s.pattern,
    bytes,
    writes,
    elapsedMs,
    mbPerSecond: elapsedMs > 0 ? bytes / MB / (elapsedMs / 1000) : 0,
    latencyMs: { p50: latency.quantile(0.5), p99: latency.quantile(0.99), max: latency.max },
    stoppedBy,
  };
  logger.info('Workload finished', { ...stats });
  return stats;
}

function selectDisks(disks: readonly BlockDevice[], s: ResolvedWorkloadSpec): BlockDevice[] {
  if (disks.length === 0) throw new TidemarkError('InvalidArgument', 'Workload has no disk to write to.');
  const indexes = s.disks ?? disks.map((_, i) => i);
  const bad = indexes.find((i) => i >= disks.length);
  if (bad !== undefined) {
    throw new TidemarkError(
      'InvalidArgument',
      `Workload spec is invalid: disks: index ${bad} is out of range; there are ${disks.length} disks (0 to ${disks.length - 1}).`,
      {
        hint: 'Name disks by their index in lun order, or leave disks out for all of them.',
        details: { fields: ['disks'] },
      },
    );
  }
  const targets = indexes.map((i) => disks[i]!);
  const small = targets.find((d) => d.size < s.blockSize);
  if (small && s.pattern !== 'sequential') {
    throw new TidemarkError(
      'InvalidArgument',
      `Workload spec is invalid: blockSize: ${s.blockSize} bytes is larger than disk ${small.name} (${small.size} bytes).`,
      {
        hint: 'Use a smaller blockSize, or leave that disk out of disks.',
        details: { fields: ['blockSize'] },
      },
    );
  }
  return targets;
}

/** Bytes trickle in at a steady rate up to `capacity`; a write waits (on the clock) for its bytes. */
class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    private readonly clock: Clock,
    private readonly perMs: number,
    private readonly capacity: number,
    initial: number,
  ) {
    this.#tokens = Math.min(initial, capacity);
    this.#last = clock.now();
  }

  /** 'ok' once `bytes` are taken; 'duration' if they would come after `deadline` (slept until it). */
  async take(bytes: number, deadline: number, signal?: AbortSignal): Promise<'ok' | 'duration' | 'signal'> {
    this.#refill();
    const now = this.clock.now();
    if (now >= deadline) return 'duration';
    const need = Math.min(bytes, this.capacity) - this.#tokens;
    const waitMs = need > 0 ? Math.ceil(need / this.perMs) : 0;
    if (now + waitMs > deadline) {
      return (await this.#sleep(deadline - now, signal)) ? 'duration' : 'signal';
    }
    if (waitMs > 0 && !(await this.#sleep(waitMs, signal))) return 'signal';
    this.#refill();
    this.#tokens -= bytes;
    return 'ok';
  }

  #refill(): void {
    const now = this.clock.now();
    this.#tokens = Math.min(this.capacity, this.#tokens + (now - this.#last) * this.perMs);
    this.#last = now;
  }

  async #sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.clock.sleep(ms, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** Log-spaced buckets (1 % apart) from 1 µs up: bounded memory for any number of writes. */
class LatencyHistogram {
  static readonly #minMs = 0.001;
  static readonly #step = Math.log(1.01);
  readonly #counts: number[] = [];
  #total = 0;
  max = 0;

  record(ms: number): void {
    const index =
      ms <= LatencyHistogram.#minMs
        ? 0
        : 1 + Math.floor(Math.log(ms / LatencyHistogram.#minMs) / LatencyHistogram.#step);
    this.#counts[index] = (this.#counts[index] ?? 0) + 1;
    this.#total++;
    this.max = Math.max(this.max, ms);
  }

  /** The bucket's upper bound holding quantile `q` (0 when nothing was recorded). */
  quantile(q: number): number {
    if (this.#total === 0) return 0;
    const rank = Math.ceil(q * this.#total);
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i] ?? 0;
      if (seen >= rank)
        return Math.min(this.max, LatencyHistogram.#minMs * Math.exp(i * LatencyHistogram.#step));
    }
    return this.max;
  }
}
