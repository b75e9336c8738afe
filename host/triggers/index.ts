import { createDurablePlugin } from '../durable';
import type { TriggerPlugin } from '../plugin';
import { createBlobPlugin } from './blob';
import { createHttpPlugin } from './http';
import { createQueuePlugin } from './queue';
import { createTimerPlugin } from './timer';

/** The plugins every host runs, one per trigger kind. */
export function defaultPlugins(): TriggerPlugin[] {
  return [
    createHttpPlugin(),
    createTimerPlugin(),
    createBlobPlugin(),
    createQueuePlugin(),
    createDurablePlugin(),
  ];
}
