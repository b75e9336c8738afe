/**
 * The host's shared queue watcher: when a function of this host adds a message to a queue (output
 * binding, poison move), the listener of that queue polls at once instead of waiting out its back-off,
 * as SharedQueueWatcher does in the real host.
 */

export class QueueWatcher {
  readonly #listeners = new Map<string, Set<() => void>>();

  /** Registers `wake` for a queue of an account; returns the unregister function. */
  register(account: string, queue: string, wake: () => void): () => void {
    const key = `${account}\n${queue}`;
    let set = this.#listeners.get(key);
    if (!set) this.#listeners.set(key, (set = new Set()));
    set.add(wake);
    return () => {
      set.delete(wake);
      if (set.size === 0) this.#listeners.delete(key);
    };
  }

  notify(account: string, queue: string): void {
    for (const wake of this.#listeners.get(`${account}\n${queue}`) ?? []) wake();
  }
}
