/**
 * Delta codec throughput, in MB/s (10^6 bytes) of write payload: encode, decode and streaming decode
 * of an 8 MiB delta (the agent's default maxDeltaBytes) of 4 KiB writes. Baseline: the least any
 * codec must do with the same bytes, i.e. copy them into (or out of) one buffer and CRC32C them;
 * ratio = value ÷ baseline.
 */
import { randomBytes } from 'node:crypto';

import { crc32c } from '@node-rs/crc32';

import {
  decodeDelta,
  decodeDeltaStream,
  encodeDelta,
  type Delta,
  type DeltaDataEntry,
} from '../../shared/delta';
import type { BenchResult } from './types';

const MiB = 1024 * 1024;
const DELTA_BYTES = 8 * MiB;
const WRITE_BYTES = 4096;
const ROUNDS = 7;
const MB = 1_000_000;
// High Churn's per-VM limit is 100 MB/s (reference/dr-anchors.md); one core must keep up with it.
const GOAL_MB_S = 100;

/** A delta of data entries only. */
interface DataDelta extends Delta {
  entries: DeltaDataEntry[];
}

function sampleDelta(): DataDelta {
  const bytes = randomBytes(DELTA_BYTES);
  const entries = Array.from({ length: DELTA_BYTES / WRITE_BYTES }, (_, i) => ({
    disk: i % 4,
    offset: ((i * 7919) % 65536) * WRITE_BYTES,
    data: bytes.subarray(i * WRITE_BYTES, (i + 1) * WRITE_BYTES),
  }));
  return {
    vmId: 'rg-bench/vm-bench',
    generation: 1,
    sequence: 1,
    firstWriteTime: Date.UTC(2026, 0, 1),
    lastWriteTime: Date.UTC(2026, 0, 1) + 1000,
    appConsistent: false,
    heartbeat: false,
    entries,
  };
}

/** Median MB/s of `fn` over DELTA_BYTES, after one warm-up round. */
async function mbPerSecond(fn: () => unknown): Promise<number> {
  await fn();
  const seconds: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = process.hrtime.bigint();
    await fn();
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  seconds.sort((a, b) => a - b);
  return DELTA_BYTES / MB / seconds[ROUNDS >> 1];
}

function result(name: string, value: number, baseline: number): BenchResult {
  return {
    name,
    value,
    unit: 'MB/s',
    better: 'higher',
    goal: GOAL_MB_S,
    baseline,
    ratio: value / baseline,
  };
}

export async function benchDeltaCodec(): Promise<BenchResult[]> {
  const delta = sampleDelta();
  const datas = delta.entries.map((entry) => entry.data);
  const blob = encodeDelta(delta);

  const encode = await mbPerSecond(() => encodeDelta(delta));
  const encodeBaseline = await mbPerSecond(() => {
    for (const data of datas) crc32c(data);
    return Buffer.concat(datas);
  });

  const decode = await mbPerSecond(() => decodeDelta(blob));
  const concatenated = Buffer.concat(datas);
  const decodeBaseline = await mbPerSecond(() => {
    let at = 0;
    for (const data of datas) {
      const out = Buffer.allocUnsafe(data.length);
      concatenated.copy(out, 0, at, at + data.length);
      crc32c(out);
      at += data.length;
    }
  });

  const chunks = Array.from({ length: Math.ceil(blob.length / 65536) }, (_, i) =>
    blob.subarray(i * 65536, (i + 1) * 65536),
  );
  const stream = await mbPerSecond(async () => {
    const source = (async function* () {
      yield* chunks;
    })();
    for await (const item of decodeDeltaStream(source, { blobLength: blob.length })) void item;
  });

  return [
    result('codec.encode.mb_s', encode, encodeBaseline),
    result('codec.decode.mb_s', decode, decodeBaseline),
    result('codec.decode_stream.mb_s', stream, decodeBaseline),
  ];
}
