/** The TidemarkError a promise rejects with; fails the test when it resolves or rejects otherwise. */
import { TidemarkError } from '../../shared/errors';

export async function caught(p: Promise<unknown>): Promise<TidemarkError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof TidemarkError)) throw new Error(`expected a TidemarkError, got ${String(err)}`);
  return err;
}
