/**
 * One in-memory Azurite per test file: `const azurite = useAzurite();` then
 * `azurite().connectionString` inside tests. Started in beforeAll, stopped in afterAll.
 */
import { afterAll, beforeAll } from 'vitest';

import { type AzuriteInstance, startAzurite } from '../../host/azurite';

export function useAzurite(): () => AzuriteInstance {
  let instance: AzuriteInstance | undefined;
  beforeAll(async () => {
    instance = await startAzurite();
  });
  afterAll(async () => {
    await instance?.stop();
  });
  return () => {
    if (!instance) throw new Error('Azurite is not running yet (use it inside a test or hook).');
    return instance;
  };
}

/** A name unique within the run, valid for containers, queues (lower-case) and tables (letters/digits). */
export function uniqueName(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`.toLowerCase();
}
