/** The app's durable functions by kind, looked up by name case-insensitively (as the host does). */
import type { RegisteredFunction } from '../core/coreApi';
import { triggerBinding } from '../plugin';

export type DurableKind = 'orchestration' | 'activity' | 'entity';

const KIND_OF: Record<string, DurableKind> = {
  orchestrationtrigger: 'orchestration',
  activitytrigger: 'activity',
  entitytrigger: 'entity',
};

export const DURABLE_TRIGGER_TYPES = Object.keys(KIND_OF);

export class FunctionIndex {
  readonly #byKind = new Map<DurableKind, Map<string, RegisteredFunction>>();

  constructor(functions: readonly RegisteredFunction[]) {
    for (const fn of functions) {
      const kind = KIND_OF[String(triggerBinding(fn).binding.type).toLowerCase()];
      if (!kind) continue;
      const map = this.#byKind.get(kind) ?? new Map<string, RegisteredFunction>();
      map.set(fn.metadata.name.toLowerCase(), fn);
      this.#byKind.set(kind, map);
    }
  }

  get(kind: DurableKind, name: string): RegisteredFunction | undefined {
    return this.#byKind.get(kind)?.get(name.toLowerCase());
  }

  count(kind: DurableKind): number {
    return this.#byKind.get(kind)?.size ?? 0;
  }
}
