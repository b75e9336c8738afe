import type { TriggerPlugin } from '../plugin';

/** The Durable Functions plugin (to be built). */
export function createDurablePlugin(): TriggerPlugin {
  return { name: 'durable', triggerTypes: [], start: async () => undefined, stop: async () => undefined };
}
