/**
 * The queue listener's polling back-off (WebJobs RandomizedExponentialBackoffStrategy): the first
 * empty poll waits the minimum; each further empty poll waits minimum + delta × 2^(n-1) × random[0.8,
 * 1.2), capped at the maximum. A poll that found messages resets the wait to the minimum.
 */

export const RANDOMIZATION_FACTOR = 0.2;

export class RandomizedExponentialBackoff {
  #current = 0;
  #exponent = 0;

  constructor(
    private readonly minimumMs: number,
    private readonly maximumMs: number,
    private readonly deltaMs = minimumMs,
    private readonly random: () => number = Math.random,
  ) {
    if (minimumMs < 0 || maximumMs < 0) throw new RangeError('Back-off intervals must not be negative.');
    if (minimumMs > maximumMs) throw new RangeError('The minimum interval must not exceed the maximum.');
  }

  /** The wait before the next poll; `foundMessages` tells whether polls since the last wait found any. */
  next(foundMessages: boolean): number {
    if (foundMessages) {
      this.#current = this.minimumMs;
      this.#exponent = 1;
    } else if (this.#current !== this.maximumMs) {
      let interval = this.minimumMs;
      if (this.#exponent > 0) {
        const factor = 1 - RANDOMIZATION_FACTOR + this.random() * 2 * RANDOMIZATION_FACTOR;
        interval += factor * 2 ** (this.#exponent - 1) * this.deltaMs;
      }
      if (interval < this.maximumMs) {
        this.#current = interval;
        this.#exponent++;
      } else {
        this.#current = this.maximumMs;
      }
    }
    return Math.round(this.#current);
  }
}
