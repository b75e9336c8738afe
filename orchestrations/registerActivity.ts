/**
 * Registers a workflow activity with the Durable app: it answers with an
 * ActivityOutcome (user errors as values, system errors thrown and retried) and logs through the
 * invocation's logger.
 */
import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';

import { contextLogger } from '../shared/functionsLogger';
import { activityOutcome } from '../shared/jobs/activityOutcome';
import type { Logger } from '../shared/logger';

export function registerActivity<I, O>(name: string, work: (input: I, log: Logger) => Promise<O>): void {
  df.app.activity(name, {
    handler: (input: unknown, context: InvocationContext) =>
      activityOutcome(() => work(input as I, contextLogger(context, { activity: name }))),
  });
}
