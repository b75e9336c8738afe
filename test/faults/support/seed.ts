/**
 * The fault suite's randomness: one seed per run, printed, from TIDEMARK_FAULT_SEED when set (to
 * replay a run: `TIDEMARK_FAULT_SEED=123 npm run test:faults -- -t '…'`), else random. Each test file
 * derives its own stream from the seed and its label, so one file's draws never shift another's.
 */

/** mulberry32: small, fast, good enough to pick delays and offsets. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

const RUN_SEED = (() => {
  const given = process.env.TIDEMARK_FAULT_SEED;
  if (given !== undefined && given.trim() !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
      throw new Error(`TIDEMARK_FAULT_SEED must be an integer from 0 to 4294967295 (got "${given}").`);
    }
    return n;
  }
  return Math.floor(Math.random() * 0x100000000);
})();

/** The run's seed and a stream for `label`; prints both so a failure can be replayed. */
export function seededRng(label: string): { seed: number; rng: Rng } {
  console.log(`[faults] ${label}: seed ${RUN_SEED} (replay with TIDEMARK_FAULT_SEED=${RUN_SEED})`);
  return { seed: RUN_SEED, rng: new Rng(RUN_SEED ^ hash(label)) };
}
