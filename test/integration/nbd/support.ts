import type { BlockDevice } from '../../../agent/blockDevice';
import { MemoryBlockDevice } from '../../../agent/memoryBlockDevice';
import { startNbdServer, type NbdServer, type NbdServerOptions } from '../../../agent/nbd';
import { TidemarkError } from '../../../shared/errors';
import { RecordingLogger } from '../../../shared/logger';

export interface DeviceOp {
  op: 'read' | 'write' | 'writeZeroes' | 'trim' | 'flush';
  offset?: number;
  length?: number;
  fua?: boolean;
  mayTrim?: boolean;
  /** First bytes of a write, to check order. */
  first?: number;
}

/**
 * Wraps a MemoryBlockDevice: records every call in order, can fail the next call of a kind, and
 * can hold calls behind a gate so tests can look at the server while a request is in flight.
 */
export class TracingDevice implements BlockDevice {
  readonly ops: DeviceOp[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private failures = new Map<DeviceOp['op'], number>();
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  private entered: (() => void) | undefined;

  constructor(readonly inner: MemoryBlockDevice) {}

  get name(): string {
    return this.inner.name;
  }
  get size(): number {
    return this.inner.size;
  }

  /** Fails the next `count` calls of `op` with an I/O error. */
  failNext(op: DeviceOp['op'], count = 1): void {
    this.failures.set(op, count);
  }

  /** Holds every call until release(); resolves when the first call is held. */
  hold(): Promise<void> {
    this.gate = new Promise<void>((resolve) => (this.openGate = resolve));
    return new Promise<void>((resolve) => (this.entered = resolve));
  }

  release(): void {
    this.gate = undefined;
    this.openGate?.();
  }

  read(offset: number, length: number): Promise<Buffer> {
    return this.run({ op: 'read', offset, length }, () => this.inner.read(offset, length));
  }
  write(offset: number, data: Buffer, options: { fua: boolean }): Promise<void> {
    const op: DeviceOp = { op: 'write', offset, length: data.length, fua: options.fua, first: data[0] };
    return this.run(op, () => this.inner.write(offset, data, options));
  }
  writeZeroes(offset: number, length: number, options: { fua: boolean; mayTrim: boolean }): Promise<void> {
    const op: DeviceOp = { op: 'writeZeroes', offset, length, ...options };
    return this.run(op, () => this.inner.writeZeroes(offset, length, options));
  }
  trim(offset: number, length: number): Promise<void> {
    return this.run({ op: 'trim', offset, length }, () => this.inner.trim(offset, length));
  }
  flush(): Promise<void> {
    return this.run({ op: 'flush' }, () => this.inner.flush());
  }

  private async run<T>(op: DeviceOp, fn: () => Promise<T>): Promise<T> {
    this.ops.push(op);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.gate) {
        this.entered?.();
        await this.gate;
      }
      const left = this.failures.get(op.op) ?? 0;
      if (left > 0) {
        this.failures.set(op.op, left - 1);
        throw new TidemarkError('StorageUnavailable', `injected ${op.op} failure`);
      }
      return await fn();
    } finally {
      this.inFlight--;
    }
  }
}

export const MiB = 1024 * 1024;

export interface TestServer {
  server: NbdServer;
  port: number;
  logger: RecordingLogger;
  devices: Map<string, TracingDevice>;
  device(name: string): TracingDevice;
  close(): Promise<void>;
}

/** Starts an NBD server on a free port with one traced in-memory disk per name. */
export async function startTestServer(
  disks: Record<string, number>,
  options: Partial<Omit<NbdServerOptions, 'exports' | 'logger'>> = {},
): Promise<TestServer> {
  const devices = new Map<string, TracingDevice>();
  for (const [name, size] of Object.entries(disks)) {
    devices.set(name, new TracingDevice(new MemoryBlockDevice(name, size)));
  }
  const logger = new RecordingLogger();
  const server = await startNbdServer({ exports: () => new Map(devices), logger, ...options });
  return {
    server,
    port: server.port,
    logger,
    devices,
    device: (name) => devices.get(name)!,
    close: () => server.close(),
  };
}

/** A buffer of `length` bytes of a deterministic pseudo-random pattern. */
export function patternBuffer(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Records the largest Buffer allocation made while watching (alloc, allocUnsafe, allocUnsafeSlow,
 * and so concat). The server runs in this process, so this sees its allocations.
 */
export function watchAllocations(): { largest(): number; stop(): void } {
  let largest = 0;
  const originals = {
    alloc: Buffer.alloc,
    allocUnsafe: Buffer.allocUnsafe,
    allocUnsafeSlow: Buffer.allocUnsafeSlow,
  };
  const track =
    <A extends unknown[]>(fn: (size: number, ...rest: A) => Buffer) =>
    (size: number, ...rest: A): Buffer => {
      largest = Math.max(largest, size);
      return fn(size, ...rest);
    };
  Buffer.alloc = track(originals.alloc) as typeof Buffer.alloc;
  Buffer.allocUnsafe = track(originals.allocUnsafe) as typeof Buffer.allocUnsafe;
  Buffer.allocUnsafeSlow = track(originals.allocUnsafeSlow) as typeof Buffer.allocUnsafeSlow;
  return {
    largest: () => largest,
    stop: () => Object.assign(Buffer, originals),
  };
}
