/**
 * Runs an orchestration generator against a stand-in Durable context: every activity it calls is
 * answered by `answer(name, input)` (an ActivityOutcome value, or a thrown error for a failure after
 * retries), timers fire at once. Records the calls and every custom status.
 */
import type { OrchestrationContext, Task } from 'durable-functions';

import type { JobCustomStatus } from '../../../shared/jobs/types';

export interface Call {
  name: string;
  input: unknown;
}

export interface DriveResult<T> {
  calls: Call[];
  status: JobCustomStatus;
  value?: T;
  error?: Error;
}

type Answer = (name: string, input: unknown) => unknown;

export function drive<T>(
  orchestration: (context: OrchestrationContext) => Generator<Task, T, unknown>,
  input: unknown,
  answer: Answer,
  instanceId = 'job-1',
): DriveResult<T> {
  let status: JobCustomStatus | undefined;
  const calls: Call[] = [];
  const df = {
    instanceId,
    currentUtcDateTime: new Date('2026-01-01T00:00:00Z'),
    getInput: () => input,
    setCustomStatus: (s: unknown) => {
      status = structuredClone(s) as JobCustomStatus;
    },
    callActivityWithRetry: (name: string, _retry: unknown, activityInput: unknown) => ({
      kind: 'activity',
      name,
      input: structuredClone(activityInput),
    }),
    createTimer: () => ({ kind: 'timer' }),
  };
  const gen = orchestration({ df } as unknown as OrchestrationContext);
  let next: IteratorResult<Task, T>;
  try {
    next = gen.next();
    while (!next.done) {
      const task = next.value as unknown as { kind: string; name: string; input: unknown };
      if (task.kind !== 'activity') {
        next = gen.next(undefined);
        continue;
      }
      calls.push({ name: task.name, input: task.input });
      let reply: unknown;
      try {
        reply = answer(task.name, task.input);
      } catch (err) {
        next = gen.throw(err);
        continue;
      }
      next = gen.next(reply);
    }
    return { calls, status: status!, value: next.value };
  } catch (err) {
    return { calls, status: status!, error: err as Error };
  }
}

export const ok = (value: unknown = null): { ok: true; value: unknown } => ({ ok: true, value });
export const userError = (message: string, hint?: string) => ({
  ok: false as const,
  error: { code: 'NotFound', message, ...(hint ? { hint } : {}) },
});
