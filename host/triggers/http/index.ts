import type { TriggerPlugin } from '../../plugin';

/** The http trigger plugin (to be built). */
export function createHttpPlugin(): TriggerPlugin {
  return { name: 'http', triggerTypes: [], start: async () => undefined, stop: async () => undefined };
}
