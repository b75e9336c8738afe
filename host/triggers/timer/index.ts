import type { TriggerPlugin } from '../../plugin';

/** The timer trigger plugin (to be built). */
export function createTimerPlugin(): TriggerPlugin {
  return { name: 'timer', triggerTypes: [], start: async () => undefined, stop: async () => undefined };
}
