/** Identifiers: random ones, and name-based ones that come out the same when an episode is replayed. */
import crypto from 'node:crypto';

export function newId(): string {
  return crypto.randomUUID();
}

/** A version-5-style UUID from the SHA-1 of the parts. */
export function deterministicId(...parts: (string | number | undefined | null)[]): string {
  const hash = crypto
    .createHash('sha1')
    .update(parts.map((p) => String(p ?? '')).join('\u0000'))
    .digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
