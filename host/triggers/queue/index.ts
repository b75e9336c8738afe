import type { TriggerPlugin } from '../../plugin';

/** The queue trigger plugin (to be built). */
export function createQueuePlugin(): TriggerPlugin {
  return { name: 'queue', triggerTypes: [], start: async () => undefined, stop: async () => undefined };
}
