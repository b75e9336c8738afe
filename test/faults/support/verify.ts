/**
 * What the fault tests assert after every fault, for one VM and its shadow:
 *
 * - the source disks hold exactly the acknowledged writes (the shadow);
 * - the replicas converge byte for byte with the source;
 * - the journal's deltas carry the writes in acknowledgement order, each once, none missing
 *   (consecutive write ids across consecutive sequence numbers);
 * - every recovery point equals the source as of the last write in its delta: a point at watermark
 *   W holds `contentAt(k)` where k is the newest write in deltas 1..W. k comes from the journal,
 *   indexed as it grows (pruning removes the oldest deltas, so a background index keeps what it saw);
 *   when the deltas up to the newest one with writes are not all indexed, the point is checked to be
 *   exactly a prefix of the writes (`contentAt(visibleMax)`, crash-consistent) instead;
 * - the watermark never goes backwards (sampled in the background).
 */
import { BlobServiceClient, type ContainerClient, RestError } from '@azure/storage-blob';

import { decodeDelta } from '../../../shared/delta';
import { journalBlobs } from '../../../shared/journal';
import { readLegacyDelta } from '../../../shared/journal/legacy';
import { SEGMENT_READ, SegmentCursor } from '../../../shared/journal/segmentCursor';
import { type ProtectedItem, TableProtectedItemStore } from '../../../shared/protectedItems';
import { TableRecoveryPointCatalog } from '../../../shared/recoveryPoints/catalog';
import type { RecoveryPoint } from '../../../shared/recoveryPoints/types';
import { CONTAINERS } from '../../../shared/storageNames';
import { waitFor } from '../../helpers/waitFor';
import type { DiskImage, Shadow } from './shadow';

export interface IndexedDelta {
  generation: number;
  sequence: number;
  /** Write ids in the delta, in order. */
  ops: number[];
  heartbeat: boolean;
  firstWriteTime: number;
  lastWriteTime: number;
}

export interface Regions {
  source: string;
  target: string;
}

export interface PointCheck {
  /** Points checked by this call. */
  checked: number;
  /** … against the journal's exact boundary. */
  exact: number;
  /** … as a consistent prefix only (the journal deltas needed were pruned before being indexed). */
  prefix: number;
}

export class VmVerifier {
  readonly deltas = new Map<number, Map<number, IndexedDelta>>();
  readonly #checkedPoints = new Set<string>();
  readonly #journal: ContainerClient;
  /** How far each journal segment has been read: appends only add to its end. */
  readonly #segmentRead = new Map<string, number>();
  readonly #replicas: ContainerClient;
  readonly #sourceDisks: ContainerClient;
  readonly #catalog: TableRecoveryPointCatalog;
  readonly items: TableProtectedItemStore;
  #indexing?: { stop: () => void; done: Promise<void> };
  #watch?: { stop: () => void; done: Promise<void> };
  /** Highest watermark seen per generation. */
  readonly watermarks = new Map<number, number>();
  readonly watermarkViolations: string[] = [];
  watermarkSamples = 0;
  totals: PointCheck = { checked: 0, exact: 0, prefix: 0 };

  constructor(
    readonly shadow: Shadow,
    readonly regions: Regions,
  ) {
    const target = BlobServiceClient.fromConnectionString(regions.target);
    this.#journal = target.getContainerClient(CONTAINERS.journal);
    this.#replicas = target.getContainerClient(CONTAINERS.replicas);
    this.#sourceDisks = BlobServiceClient.fromConnectionString(regions.source).getContainerClient(
      CONTAINERS.disks,
    );
    this.#catalog = TableRecoveryPointCatalog.fromConnectionString(regions.target);
    this.items = TableProtectedItemStore.fromConnectionString(regions.target);
  }

  get #prefix(): string {
    return `${this.shadow.resourceGroup}/${this.shadow.vm}/`;
  }

  // ── journal index ─────────────────────────────────────────────────────────────

  /**
   * Reads every journal delta of the VM not indexed yet: each segment from where the last call
   * stopped (the first copy of a delta journaled twice counts), and legacy per-delta blobs.
   */
  async indexJournal(): Promise<void> {
    const vm = { resourceGroup: this.shadow.resourceGroup, vm: this.shadow.vm };
    for (const blob of await journalBlobs(this.#journal, vm)) {
      if (blob.kind === 'delta') {
        if (this.deltas.get(blob.generation)?.has(blob.sequence)) continue;
        const body = await readLegacyDelta(this.#journal, blob.blobName);
        if (body) this.#index(blob.generation, blob.sequence, body); // else pruned meanwhile
        continue;
      }
      const cursor = new SegmentCursor(this.#journal.getBlobClient(blob.blobName), blob.start, {
        ...SEGMENT_READ,
        from: this.#segmentRead.get(blob.blobName) ?? 0,
      });
      try {
        for (;;) {
          const frame = await cursor.next((h) => !this.deltas.get(blob.generation)?.has(h.sequence));
          if (!frame) break;
          if (frame.body) this.#index(blob.generation, frame.ref.sequence, frame.body);
        }
        // A segment pruned meanwhile is absent: nothing more to read there.
        this.#segmentRead.set(blob.blobName, cursor.offset);
      } finally {
        cursor.close();
      }
    }
  }

  #index(generation: number, sequence: number, body: Buffer): void {
    const delta = decodeDelta(body, { vmId: this.shadow.vmId, generation, sequence });
    const indexed: IndexedDelta = {
      generation,
      sequence,
      ops: delta.entries.map((e) => this.shadow.identify(e)),
      heartbeat: delta.heartbeat,
      firstWriteTime: delta.firstWriteTime,
      lastWriteTime: delta.lastWriteTime,
    };
    let gen = this.deltas.get(generation);
    if (!gen) this.deltas.set(generation, (gen = new Map()));
    if (!gen.has(sequence)) gen.set(sequence, indexed);
  }

  /** Indexes the journal every `ms` until stopped, so pruning never takes a delta unseen. */
  startIndexing(ms = 500): void {
    this.#indexing ??= background(ms, () => this.indexJournal());
  }

  /** Samples the item's watermark every `ms`: it must never go down within a generation. */
  startWatermarkWatch(ms = 250): void {
    this.#watch ??= background(ms, () => this.sampleWatermark());
  }

  async sampleWatermark(): Promise<ProtectedItem | undefined> {
    const item = await this.items.get(this.shadow.resourceGroup, this.shadow.vm);
    if (!item) return undefined;
    this.watermarkSamples++;
    const seen = this.watermarks.get(item.generation) ?? 0;
    if (item.watermark < seen) {
      this.watermarkViolations.push(
        `generation ${item.generation}: watermark ${item.watermark} after ${seen} (${new Date().toISOString()})`,
      );
    }
    this.watermarks.set(item.generation, Math.max(seen, item.watermark));
    return item;
  }

  async stopBackground(): Promise<void> {
    for (const task of [this.#indexing, this.#watch]) task?.stop();
    await Promise.all([this.#indexing?.done, this.#watch?.done]);
    this.#indexing = undefined;
    this.#watch = undefined;
  }

  /**
   * The journal carries the writes in acknowledgement order, each once: within a generation, the
   * write ids of consecutive indexed deltas are consecutive. `firstJournaled` (if given) is the first
   * write id the generation must start with. Returns the number of deltas looked at.
   */
  checkJournalOrder(generation: number): number {
    const gen = this.deltas.get(generation);
    if (!gen) return 0;
    const seqs = [...gen.keys()].sort((a, b) => a - b);
    let previous: { seq: number; lastOp: number } | undefined;
    for (const seq of seqs) {
      const d = gen.get(seq)!;
      for (let i = 1; i < d.ops.length; i++) {
        if (d.ops[i] !== d.ops[i - 1]! + 1) {
          throw new Error(`delta ${generation}/${seq} carries writes ${d.ops.join(',')}: not consecutive`);
        }
      }
      if (d.ops.length === 0) continue;
      if (previous && previous.seq === seq - 1 - countEmptyBetween(gen, previous.seq, seq)) {
        if (d.ops[0] !== previous.lastOp + 1) {
          throw new Error(
            `delta ${generation}/${seq} starts with write ${d.ops[0]} after write ${previous.lastOp} in delta ${previous.seq}: a write is ${d.ops[0]! <= previous.lastOp ? 'repeated' : 'missing'}`,
          );
        }
      }
      previous = { seq, lastOp: d.ops.at(-1)! };
    }
    return seqs.length;
  }

  /** The newest write in deltas 1..sequence of `generation`, when the index holds enough to know. */
  exactBoundary(generation: number, sequence: number): number | undefined {
    const gen = this.deltas.get(generation);
    if (!gen) return undefined;
    for (let s = sequence; s >= 1; s--) {
      const d = gen.get(s);
      if (!d) return undefined;
      if (d.ops.length > 0) return d.ops.at(-1);
    }
    return undefined;
  }

  // ── disks ─────────────────────────────────────────────────────────────────────

  async #image(container: ContainerClient, snapshot?: Map<string, string>): Promise<DiskImage> {
    const image: DiskImage = new Map();
    await Promise.all(
      this.shadow.disks.map(async (d) => {
        let blob = container.getPageBlobClient(`${this.#prefix}${d.name}`);
        const snap = snapshot?.get(d.name);
        if (snap) blob = blob.withSnapshot(snap);
        image.set(d.lun, await blob.downloadToBuffer());
      }),
    );
    return image;
  }

  sourceImage(): Promise<DiskImage> {
    return this.#image(this.#sourceDisks);
  }

  replicaImage(): Promise<DiskImage> {
    return this.#image(this.#replicas);
  }

  /** Any page blobs `{prefix}{disk}` in a container (failover and test-failover disks). */
  imageOf(container: ContainerClient, prefix: string): Promise<DiskImage> {
    return Promise.all(
      this.shadow.disks.map(
        async (d) =>
          [d.lun, await container.getPageBlobClient(`${prefix}${d.name}`).downloadToBuffer()] as const,
      ),
    ).then((pairs) => new Map(pairs));
  }

  /** The source disks hold every acknowledged write and nothing else (no write in flight). */
  async expectSourceIsShadow(): Promise<void> {
    if (this.shadow.uncertain.length > 0) {
      throw new Error(`${this.shadow.vmId}: unacknowledged writes exist; use expectSourceWithin`);
    }
    const problem = this.shadow.diff(await this.sourceImage(), this.shadow.contentAt(this.shadow.lastAcked));
    if (problem)
      throw new Error(`${this.shadow.vmId}: the source disks are not the acknowledged writes: ${problem}`);
  }

  /** Waits until the replicas equal the source disks; returns how long it took. */
  async waitConverged(timeoutMs = 120_000): Promise<number> {
    const started = Date.now();
    let last = 'not compared yet';
    try {
      await waitFor(
        async () => {
          const [source, replica] = await Promise.all([this.sourceImage(), this.replicaImage()]);
          const problem = this.shadow.diff(replica, source);
          last = problem ?? 'equal';
          return problem === undefined;
        },
        { timeoutMs, intervalMs: 300, what: `the replicas of ${this.shadow.vmId} to converge` },
      );
    } catch (err) {
      const item = await this.items.get(this.shadow.resourceGroup, this.shadow.vm).catch(() => undefined);
      throw new Error(
        `${(err as Error).message}; last difference: ${last}; item: ${JSON.stringify({
          state: item?.state,
          generation: item?.generation,
          watermark: item?.watermark,
          applyEnabled: item?.applyEnabled,
          resyncReason: item?.resyncReason,
        })}`,
      );
    }
    return Date.now() - started;
  }

  // ── recovery points ───────────────────────────────────────────────────────────

  async points(): Promise<RecoveryPoint[]> {
    return this.#catalog.list(this.shadow.resourceGroup, this.shadow.vm);
  }

  /**
   * Checks every point not checked before (`again`: every point) against the shadow (the writer must be paused: a point may
   * hold a write whose acknowledgement is still on its way). A point whose snapshot is gone while the
   * catalog still lists it is a failure; one pruned meanwhile is skipped.
   */
  async checkPoints(options: { again?: boolean } = {}): Promise<PointCheck> {
    if (options.again) this.#checkedPoints.clear();
    await this.indexJournal();
    const result: PointCheck = { checked: 0, exact: 0, prefix: 0 };
    const points = (await this.points()).sort(
      (a, b) => a.generation - b.generation || a.sequence - b.sequence,
    );
    for (const point of points) {
      const key = `${point.id}@${point.disks.map((d) => d.snapshot).join(',')}`;
      if (this.#checkedPoints.has(key)) continue;
      let image: DiskImage;
      try {
        image = await this.#image(this.#replicas, new Map(point.disks.map((d) => [d.name, d.snapshot])));
      } catch (err) {
        if (!(err instanceof RestError && err.statusCode === 404)) throw err;
        const still = (await this.points()).some((p) => p.id === point.id);
        if (still)
          throw new Error(`recovery point ${point.id} of ${this.shadow.vmId} names a snapshot that is gone`);
        continue;
      }
      const exact = this.exactBoundary(point.generation, point.sequence);
      const k = exact ?? this.shadow.visibleMax(image);
      const problem = this.shadow.diff(image, this.shadow.contentAt(k));
      if (problem) {
        throw new Error(
          `recovery point ${point.id} of ${this.shadow.vmId} is not the source as of write ${k} (${exact === undefined ? 'newest visible write' : 'the last write in its deltas'}): ${problem}`,
        );
      }
      this.#checkedPoints.add(key);
      result.checked++;
      if (exact === undefined) result.prefix++;
      else result.exact++;
    }
    this.totals = {
      checked: this.totals.checked + result.checked,
      exact: this.totals.exact + result.exact,
      prefix: this.totals.prefix + result.prefix,
    };
    return result;
  }

  /** The expected image of a point (for failover disks made from it). */
  expectedAt(point: RecoveryPoint, image: DiskImage): { k: number; exact: boolean } {
    const exact = this.exactBoundary(point.generation, point.sequence);
    return { k: exact ?? this.shadow.visibleMax(image), exact: exact !== undefined };
  }
}

function countEmptyBetween(gen: Map<number, IndexedDelta>, from: number, to: number): number {
  let n = 0;
  for (let s = from + 1; s < to; s++) {
    const d = gen.get(s);
    if (d && d.ops.length === 0) n++;
  }
  return n;
}

/** Runs `fn` every `ms` (errors ignored: a region may be down for a while) until stopped. */
function background(ms: number, fn: () => Promise<unknown>): { stop: () => void; done: Promise<void> } {
  let stopped = false;
  let wake: (() => void) | undefined;
  const done = (async () => {
    while (!stopped) {
      await fn().catch(() => undefined);
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();
  return {
    stop: () => {
      stopped = true;
      wake?.();
    },
    done,
  };
}
