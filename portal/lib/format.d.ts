// Generated from format.js's JSDoc by test/unit/portal/declarations.test.ts; do not edit.
// UPDATE_PORTAL_DTS=1 npx vitest run test/unit/portal/declarations.test.ts rewrites it.
/**
 * A duration in seconds as people read it: `42 s`, `4 min 05 s`, `2 h 03 min`, `3 d 04 h`.
 * @param {number | null | undefined} seconds
 * @returns {string}
 */
export function formatSeconds(seconds: number | null | undefined): string;
/**
 * The RPO cell: `—` before the first delta is applied.
 * @param {number | null | undefined} seconds
 */
export function formatRpo(seconds: number | null | undefined): string;
/**
 * `ok`, `warning` or `critical` for an RPO, by the same thresholds as the health rules.
 * @param {number | null | undefined} seconds
 * @returns {'ok' | 'warning' | 'critical' | 'unknown'}
 */
export function rpoLevel(seconds: number | null | undefined): 'ok' | 'warning' | 'critical' | 'unknown';
/**
 * A Date from an ISO string or epoch milliseconds; undefined for nothing or nonsense.
 * @param {string | number | null | undefined} value
 * @returns {Date | undefined}
 */
export function toDate(value: string | number | null | undefined): Date | undefined;
/**
 * A time as `2026-11-26 06:30:05`, in local time (or UTC with `{utc: true}`); `—` for none.
 * @param {string | number | null | undefined} value
 * @param {{utc?: boolean}} [options]
 */
export function formatTime(
  value: string | number | null | undefined,
  options?: {
    utc?: boolean;
  },
): string;
/**
 * How long ago `value` was, as of `now` (ms): `12 s ago`, `3 min 02 s ago`; `—` for none.
 * @param {string | number | null | undefined} value
 * @param {number} now
 */
export function formatAgo(value: string | number | null | undefined, now: number): string;
/**
 * Time between two instants (the second defaults to `now`): `1 min 12 s`.
 * @param {string | number | null | undefined} start
 * @param {string | number | null | undefined} end
 * @param {number} now
 */
export function formatElapsed(
  start: string | number | null | undefined,
  end: string | number | null | undefined,
  now: number,
): string;
/**
 * Bytes in binary units: `512 B`, `4.0 MiB`, `1.25 GiB`.
 * @param {number | null | undefined} bytes
 */
export function formatBytes(bytes: number | null | undefined): string;
/**
 * An identifier in words: `InitialReplication` → `Initial replication`, `TestFailoverCleanup` →
 * `Test failover cleanup`.
 * @param {string | null | undefined} name
 */
export function humanize(name: string | null | undefined): string;
/**
 * The CSS modifier for a health value: `healthy`, `warning`, `critical`, or `none`.
 * @param {string | null | undefined} health
 */
export function healthClass(health: string | null | undefined): 'warning' | 'critical' | 'healthy' | 'none';
/**
 * `rg/name`, as the portal names a VM.
 * @param {{resourceGroup: string, name: string} | null | undefined} vm
 */
export function vmLabel(
  vm:
    | {
        resourceGroup: string;
        name: string;
      }
    | null
    | undefined,
): string;
/**
 * The key a VM is found by: Azure names compare case-insensitively.
 * @param {string} resourceGroup
 * @param {string} name
 */
export function vmKey(resourceGroup: string, name: string): string;
/**
 * A `datetime-local` input's value (`2026-11-26T06:30` or with seconds, local time) as an ISO-8601
 * UTC time; undefined when it is not one.
 * @param {string} value
 */
export function localInputToIso(value: string): string | undefined;
/**
 * A time as a `datetime-local` input value with seconds, in local time.
 * @param {string | number | Date} value
 */
export function isoToLocalInput(value: string | number | Date): string;
/** Health thresholds of DESIGN §6: Warning over 15 min of RPO, Critical over 30 min. */
export const RPO_WARNING_SECONDS: number;
export const RPO_CRITICAL_SECONDS: number;
