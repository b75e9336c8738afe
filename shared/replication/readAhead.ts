/**
 * Downloads the next few deltas of a VM while the current ones are applied. A miss (the delta is not
 * in the cache yet) forgets the guesses made past it, which may be stale, and looks once more.
 */
export class ReadAhead<T> {
  readonly #inflight = new Map<number, Promise<T | undefined>>();

  constructor(
    private readonly fetch: (sequence: number) => Promise<T | undefined>,
    private readonly window: number,
  ) {}

  async get(sequence: number): Promise<T | undefined> {
    for (let s = sequence; s < sequence + this.window; s++) {
      if (this.#inflight.has(s)) continue;
      const p = this.fetch(s);
      p.catch(() => undefined);
      this.#inflight.set(s, p);
    }
    const pending = this.#inflight.get(sequence)!;
    this.#inflight.delete(sequence);
    const value = await pending;
    if (value !== undefined) return value;
    this.#inflight.clear();
    return this.fetch(sequence);
  }

  /** Hands a value back so the next get(sequence) returns it without fetching. */
  putBack(sequence: number, value: T): void {
    this.#inflight.set(sequence, Promise.resolve(value));
  }
}
