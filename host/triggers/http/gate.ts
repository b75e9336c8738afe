/**
 * HTTP throttling as host.json `extensions.http` sets it: at most `maxConcurrentRequests` function
 * invocations run at once (the rest wait), and beyond `maxOutstandingRequests` waiting or running
 * requests new ones are refused (429). -1 means no limit. Also counts requests in flight so the
 * plugin can drain on stop.
 */
export class RequestGate {
  #outstanding = 0;
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  readonly #idle: (() => void)[] = [];

  constructor(
    private readonly maxConcurrent: number,
    private readonly maxOutstanding: number,
  ) {}

  get outstanding(): number {
    return this.#outstanding;
  }

  /** Takes a place for one request; false when maxOutstanding requests are already in. */
  enter(): boolean {
    if (this.maxOutstanding > 0 && this.#outstanding >= this.maxOutstanding) return false;
    this.#outstanding++;
    return true;
  }

  leave(): void {
    this.#outstanding--;
    if (this.#outstanding === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Runs `task` once fewer than maxConcurrent tasks run. */
  run<T>(task: () => Promise<T>): Promise<T> {
    return this.maxConcurrent > 0 ? this.#runLimited(task) : task();
  }

  async #runLimited<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.maxConcurrent) {
      // The finishing task hands its slot over, so #running stays counted.
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }

  /** Resolves once no request is in. */
  async idle(): Promise<void> {
    if (this.#outstanding > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }
}
