/**
 * A latch for polling loops: `wait(ms)` sleeps on the host clock until the time passes, `wake()` is
 * called, or the stop signal fires. A wake that comes while nobody waits is kept for the next wait.
 */
import type { Clock } from '../../../shared/clock';

export class Wakeup {
  #pending = false;
  #release?: () => void;

  constructor(
    private readonly clock: Clock,
    private readonly stop: AbortSignal,
  ) {}

  wake(): void {
    if (this.#release) this.#release();
    else this.#pending = true;
  }

  async wait(ms: number): Promise<void> {
    if (this.#pending || this.stop.aborted) {
      this.#pending = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const done = (): void => {
        timer.cancel();
        this.stop.removeEventListener('abort', done);
        this.#release = undefined;
        resolve();
      };
      const timer = this.clock.setTimer(ms, done);
      this.stop.addEventListener('abort', done, { once: true });
      this.#release = done;
    });
  }
}
