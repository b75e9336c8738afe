/**
 * The shadow of a test VM: every write the test made to its source disks, in the order the agent
 * acknowledged them, so the bytes any prefix of them put on the disks can be rebuilt. Each write has
 * a unique id and carries it in its first bytes (a 32-byte header: magic, VM tag, id, disk, offset,
 * length), the rest of its data being a pseudo-random fill seeded by the id. So:
 *
 * - `contentAt(k)`: the disks after writes 1..k (zeros first: test VMs start with empty disks);
 * - `identify(entry)`: which write a delta entry carries (the journal tells which writes each delta
 *   holds, so the writes in deltas 1..W are known exactly);
 * - `visibleMax(disks)`: the newest write visible on a disk image; a crash-consistent image equals
 *   `contentAt` of it.
 *
 * One writer per VM issues one write at a time (the next only after the previous was acknowledged),
 * so acknowledgement order is a total order across the VM's disks, the one the agent journals.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import type { DeltaEntry } from '../../../shared/delta';
import { NbdWriter } from './nbdWriter';
import type { Rng } from './seed';

export interface ShadowDisk {
  name: string;
  lun: number;
  sizeBytes: number;
}

export interface ShadowOp {
  id: number;
  lun: number;
  offset: number;
  length: number;
  /** Wall-clock ms of the acknowledgement (undefined while unacknowledged). */
  ackedAt?: number;
}

/** lun → disk bytes. */
export type DiskImage = Map<number, Buffer>;

const MAGIC = Buffer.from('TMFAULT1', 'latin1');
export const OP_HEADER_BYTES = 32;
const PAGE = 4096;

export class Shadow {
  /** Acknowledged writes, in id (= acknowledgement) order. */
  readonly acked: ShadowOp[] = [];
  /** Writes sent whose acknowledgement never came (the connection dropped): on the disk or not. */
  readonly uncertain: ShadowOp[] = [];
  readonly #byId = new Map<number, ShadowOp>();
  #nextId = 1;
  #cache?: { k: number; image: DiskImage; next: number };

  constructor(
    readonly resourceGroup: string,
    readonly vm: string,
    readonly disks: readonly ShadowDisk[],
    /** Tells this VM's writes from any other's. */
    readonly tag: number,
  ) {
    this.tag = tag >>> 0;
  }

  get vmId(): string {
    return `${this.resourceGroup}/${this.vm}`;
  }

  get lastAcked(): number {
    return this.acked.at(-1)?.id ?? 0;
  }

  disk(lun: number): ShadowDisk {
    const d = this.disks.find((x) => x.lun === lun);
    if (!d) throw new Error(`${this.vmId} has no disk with lun ${lun}`);
    return d;
  }

  newOp(lun: number, offset: number, length: number): ShadowOp {
    const op = { id: this.#nextId++, lun, offset, length };
    this.#byId.set(op.id, op);
    return op;
  }

  /** The bytes of write `op`. */
  data(op: ShadowOp): Buffer {
    const buf = Buffer.alloc(op.length);
    let x = (op.id * 2654435761) ^ this.tag ^ 0x9e3779b9;
    for (let at = OP_HEADER_BYTES; at < op.length; at += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      buf.writeInt32LE(x | 0, at);
    }
    this.#header(op).copy(buf, 0);
    return buf;
  }

  #header(op: ShadowOp): Buffer {
    const h = Buffer.alloc(OP_HEADER_BYTES);
    MAGIC.copy(h, 0);
    h.writeUInt32LE(this.tag, 8);
    h.writeUInt32LE(op.id, 12);
    h.writeUInt16LE(op.lun, 16);
    h.writeUIntLE(op.offset, 18, 6);
    h.writeUInt32LE(op.length, 24);
    return h;
  }

  /** The disks after every acknowledged write with id ≤ k (zeros before any). A fresh copy. */
  contentAt(k: number): DiskImage {
    if (!this.#cache || k < this.#cache.k) {
      this.#cache = {
        k: 0,
        next: 0,
        image: new Map(this.disks.map((d) => [d.lun, Buffer.alloc(d.sizeBytes)])),
      };
    }
    const cache = this.#cache;
    while (cache.next < this.acked.length && this.acked[cache.next]!.id <= k) {
      const op = this.acked[cache.next]!;
      this.data(op).copy(cache.image.get(op.lun)!, op.offset);
      cache.next++;
    }
    cache.k = k;
    return new Map([...cache.image].map(([lun, b]) => [lun, Buffer.from(b)]));
  }

  /** The id of the write a delta entry carries; throws for anything this shadow did not write. */
  identify(entry: DeltaEntry): number {
    if (!('data' in entry))
      throw new Error(`${this.vmId}: a zero entry at ${entry.offset}; the test writes none`);
    const h = entry.data.subarray(0, OP_HEADER_BYTES);
    const id = h.length === OP_HEADER_BYTES && h.subarray(0, 8).equals(MAGIC) ? h.readUInt32LE(12) : 0;
    const op = this.#byId.get(id);
    if (
      !op ||
      h.readUInt32LE(8) !== this.tag ||
      op.lun !== entry.disk ||
      op.offset !== entry.offset ||
      op.length !== entry.data.length ||
      !entry.data.equals(this.data(op))
    ) {
      throw new Error(
        `${this.vmId}: a delta entry (disk ${entry.disk}, offset ${entry.offset}, ${entry.data.length} bytes) is no write of this test`,
      );
    }
    return id;
  }

  /** The newest write whose header is visible in `image` (0: none). */
  visibleMax(image: DiskImage): number {
    const all = [...this.#byId.values()].sort((a, b) => b.id - a.id);
    for (const op of all) {
      const disk = image.get(op.lun);
      if (disk && disk.subarray(op.offset, op.offset + OP_HEADER_BYTES).equals(this.#header(op)))
        return op.id;
    }
    return 0;
  }

  /** Where two images differ, for failure messages (undefined when equal). */
  diff(actual: DiskImage, expected: DiskImage): string | undefined {
    for (const d of this.disks) {
      const a = actual.get(d.lun);
      const e = expected.get(d.lun);
      if (!a || !e) return `disk ${d.name}: missing (${a ? 'expected' : 'actual'})`;
      if (a.length !== e.length) return `disk ${d.name}: ${a.length} bytes, expected ${e.length}`;
      if (a.equals(e)) continue;
      let at = 0;
      while (a[at] === e[at]) at++;
      const page = Math.floor(at / 512) * 512;
      const writer = (img: Buffer): string => {
        const ops = [...this.#byId.values()].filter(
          (o) => o.lun === d.lun && o.offset <= page && page < o.offset + o.length,
        );
        const seen = ops.filter((o) =>
          img.subarray(o.offset, o.offset + OP_HEADER_BYTES).equals(this.#header(o)),
        );
        return seen.map((o) => o.id).join(',') || 'none';
      };
      return `disk ${d.name} differs first at byte ${at} (writes covering it, visible in actual: ${writer(a)}; in expected: ${writer(e)})`;
    }
    return undefined;
  }
}

export interface WriterOptions {
  /** The NBD port of the VM's agent (looked up again after a reconnect). */
  port: () => Promise<number>;
  rng: Rng;
  /** Write sizes to pick from (multiples of 4 KiB). */
  sizes?: number[];
  /** Pause between two writes, ms (the workload's pace). */
  gapMs?: [number, number];
  /** After a dropped connection, reconnect and go on (else the writer stops with `error`). */
  reconnect?: boolean;
}

/**
 * A steady workload on one VM through NBD: random writes on its disks, one at a time, each recorded
 * in the shadow once acknowledged. pause() returns once no write is in flight.
 */
export class ShadowWriter {
  #conns = new Map<number, NbdWriter>();
  #paused = false;
  #stopped = false;
  #loop?: Promise<void>;
  #resume?: () => void;
  #idle?: () => void;
  #inFlight?: { op: ShadowOp; since: number };
  error?: Error;
  /** Connections dropped (each leaves one uncertain write). */
  drops = 0;

  constructor(
    readonly shadow: Shadow,
    private readonly options: WriterOptions,
  ) {}

  start(): void {
    this.#loop ??= this.#run();
  }

  get running(): boolean {
    return this.#loop !== undefined && !this.#stopped && !this.#paused;
  }

  /** The write waiting for its acknowledgement, and since when (ms). */
  get inFlight(): { op: ShadowOp; since: number } | undefined {
    return this.#inFlight;
  }

  /** Stops issuing writes; resolves once none is in flight. */
  async pause(): Promise<void> {
    this.#paused = true;
    if (!this.#inFlight || !this.#loop) return;
    await new Promise<void>((resolve) => (this.#idle = resolve));
  }

  resume(): void {
    this.#paused = false;
    this.#resume?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#resume?.();
    await this.#loop;
    for (const c of this.#conns.values()) c.close();
    this.#conns.clear();
  }

  async #conn(lun: number): Promise<NbdWriter> {
    let c = this.#conns.get(lun);
    if (!c) {
      c = await NbdWriter.open(await this.options.port(), this.shadow.disk(lun).name);
      this.#conns.set(lun, c);
    }
    return c;
  }

  async #run(): Promise<void> {
    const { rng } = this.options;
    const sizes = this.options.sizes ?? [4096, 8192, 16384, 32768, 65536];
    const [gapMin, gapMax] = this.options.gapMs ?? [5, 40];
    while (!this.#stopped) {
      if (this.#paused) {
        this.#idle?.();
        this.#idle = undefined;
        await new Promise<void>((resolve) => (this.#resume = resolve));
        this.#resume = undefined;
        continue;
      }
      const disk = rng.pick(this.shadow.disks);
      const length = Math.min(rng.pick(sizes), disk.sizeBytes);
      const offset = rng.int(0, (disk.sizeBytes - length) / PAGE) * PAGE;
      let conn: NbdWriter;
      try {
        conn = await this.#conn(disk.lun);
      } catch (err) {
        if (!(await this.#dropped(err))) break;
        continue;
      }
      if (this.#paused || this.#stopped) continue;
      const op = this.shadow.newOp(disk.lun, offset, length);
      const data = this.shadow.data(op);
      this.#inFlight = { op, since: Date.now() };
      try {
        await conn.write(offset, data);
        op.ackedAt = Date.now();
        this.shadow.acked.push(op);
      } catch (err) {
        this.shadow.uncertain.push(op);
        this.#inFlight = undefined;
        if (!(await this.#dropped(err))) break;
        continue;
      } finally {
        this.#inFlight = undefined;
      }
      if (this.#paused) continue;
      await sleep(rng.int(gapMin, gapMax));
    }
    this.#idle?.();
  }

  /** After a failure: close, and either stop (false) or wait a moment to reconnect (true). */
  async #dropped(err: unknown): Promise<boolean> {
    this.drops++;
    for (const c of this.#conns.values()) c.close();
    this.#conns.clear();
    this.error = err instanceof Error ? err : new Error(String(err));
    if (!this.options.reconnect || this.#stopped) {
      this.#stopped = true;
      return false;
    }
    await sleep(200);
    return true;
  }
}
