/**
 * Job ids. One instance id per VM and kind (`enable-{rg}-{vm}`, lower-case as Azure names compare),
 * so the Durable engine itself refuses a second start while one runs.
 */
import type { JobKind } from './types';

const PREFIXES: Record<JobKind, string> = { EnableReplication: 'enable' };

export function jobInstanceId(kind: JobKind, resourceGroup: string, vm: string): string {
  return `${PREFIXES[kind]}-${resourceGroup}-${vm}`.toLowerCase();
}
