import type { TriggerPlugin } from '../../plugin';

/** The blob trigger plugin (to be built). */
export function createBlobPlugin(): TriggerPlugin {
  return { name: 'blob', triggerTypes: [], start: async () => undefined, stop: async () => undefined };
}
