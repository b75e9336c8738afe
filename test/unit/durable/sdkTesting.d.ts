// The durable-functions SDK's own testing helpers, used to run orchestrators without a host.
declare module 'durable-functions/lib/src/util/testingUtils' {
  import type { OrchestrationContext } from 'durable-functions';

  export function createOrchestrator(
    fn: (context: OrchestrationContext) => Generator<unknown, unknown, unknown>,
  ): (trigger: unknown, context: unknown) => Promise<unknown>;
}
