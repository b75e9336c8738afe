/**
 * Queue names as the Functions host treats them: lower-cased ("coerced to be nice"), then validated
 * against the Storage rules; a poison queue `<name>-poison` exists only for names that don't already
 * end in `-poison` and that stay valid with the suffix.
 */
import { TidemarkError } from '../../../shared/errors';

export const POISON_SUFFIX = '-poison';

const QUEUE_NAME = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;

export function isValidQueueName(name: string): boolean {
  return QUEUE_NAME.test(name);
}

/** Lower-cases and validates a resolved queue name; `what` names the binding for the error. */
export function normalizeQueueName(name: string, what: string): string {
  const lower = name.toLowerCase();
  if (!isValidQueueName(lower)) {
    throw new TidemarkError('InvalidConfig', `${what}: "${name}" is not a valid queue name.`, {
      hint:
        'Queue names are 3-63 characters of lower-case letters, digits and single dashes, ' +
        'starting and ending with a letter or digit.',
    });
  }
  return lower;
}

/** The poison queue for `name`, or undefined when the real host would have none. */
export function poisonQueueName(name: string): string | undefined {
  if (name.endsWith(POISON_SUFFIX)) return undefined;
  const poison = name + POISON_SUFFIX;
  return isValidQueueName(poison) ? poison : undefined;
}
