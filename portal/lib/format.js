// How the portal words numbers, times and names. Pure functions: no DOM, no clock unless given one.

/** Health thresholds of DESIGN §6: Warning over 15 min of RPO, Critical over 30 min. */
export const RPO_WARNING_SECONDS = 15 * 60;
export const RPO_CRITICAL_SECONDS = 30 * 60;

/** @param {number} n */
function pad(n) {
  return String(n).padStart(2, '0');
}

/**
 * A duration in seconds as people read it: `42 s`, `4 min 05 s`, `2 h 03 min`, `3 d 04 h`.
 * @param {number | null | undefined} seconds
 * @returns {string}
 */
export function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
  return `${Math.floor(s / 86400)} d ${pad(Math.floor((s % 86400) / 3600))} h`;
}

/**
 * The RPO cell: `—` before the first delta is applied.
 * @param {number | null | undefined} seconds
 */
export function formatRpo(seconds) {
  return formatSeconds(seconds);
}

/**
 * `ok`, `warning` or `critical` for an RPO, by the same thresholds as the health rules.
 * @param {number | null | undefined} seconds
 * @returns {'ok' | 'warning' | 'critical' | 'unknown'}
 */
export function rpoLevel(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return 'unknown';
  if (seconds > RPO_CRITICAL_SECONDS) return 'critical';
  if (seconds > RPO_WARNING_SECONDS) return 'warning';
  return 'ok';
}

/**
 * A Date from an ISO string or epoch milliseconds; undefined for nothing or nonsense.
 * @param {string | number | null | undefined} value
 * @returns {Date | undefined}
 */
export function toDate(value) {
  if (value === null || value === undefined || value === '') return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * A time as `2026-11-26 06:30:05`, in local time (or UTC with `{utc: true}`); `—` for none.
 * @param {string | number | null | undefined} value
 * @param {{utc?: boolean}} [options]
 */
export function formatTime(value, options = {}) {
  const d = toDate(value);
  if (!d) return '—';
  if (options.utc) return d.toISOString().slice(0, 19).replace('T', ' ');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/**
 * How long ago `value` was, as of `now` (ms): `12 s ago`, `3 min 02 s ago`; `—` for none.
 * @param {string | number | null | undefined} value
 * @param {number} now
 */
export function formatAgo(value, now) {
  const d = toDate(value);
  if (!d) return '—';
  const seconds = (now - d.getTime()) / 1000;
  if (seconds < 1) return 'just now';
  return `${formatSeconds(seconds)} ago`;
}

/**
 * Time between two instants (the second defaults to `now`): `1 min 12 s`.
 * @param {string | number | null | undefined} start
 * @param {string | number | null | undefined} end
 * @param {number} now
 */
export function formatElapsed(start, end, now) {
  const a = toDate(start);
  if (!a) return '—';
  const b = toDate(end);
  return formatSeconds(((b ? b.getTime() : now) - a.getTime()) / 1000);
}

/**
 * Bytes in binary units: `512 B`, `4.0 MiB`, `1.25 GiB`.
 * @param {number | null | undefined} bytes
 */
export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${value} B`;
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/**
 * An identifier in words: `InitialReplication` → `Initial replication`, `TestFailoverCleanup` →
 * `Test failover cleanup`.
 * @param {string | null | undefined} name
 */
export function humanize(name) {
  if (!name) return '—';
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(' ');
  return words.map((w, i) => (i === 0 ? w : w.toLowerCase())).join(' ');
}

/**
 * The CSS modifier for a health value: `healthy`, `warning`, `critical`, or `none`.
 * @param {string | null | undefined} health
 */
export function healthClass(health) {
  switch (health) {
    case 'Healthy':
      return 'healthy';
    case 'Warning':
      return 'warning';
    case 'Critical':
      return 'critical';
    default:
      return 'none';
  }
}

/**
 * `rg/name`, as the portal names a VM.
 * @param {{resourceGroup: string, name: string} | null | undefined} vm
 */
export function vmLabel(vm) {
  return vm ? `${vm.resourceGroup}/${vm.name}` : '—';
}

/**
 * The key a VM is found by: Azure names compare case-insensitively.
 * @param {string} resourceGroup
 * @param {string} name
 */
export function vmKey(resourceGroup, name) {
  return `${resourceGroup}/${name}`.toLowerCase();
}

/**
 * A `datetime-local` input's value (`2026-11-26T06:30` or with seconds, local time) as an ISO-8601
 * UTC time; undefined when it is not one.
 * @param {string} value
 */
export function localInputToIso(value) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(value)) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/**
 * A time as a `datetime-local` input value with seconds, in local time.
 * @param {string | number | Date} value
 */
export function isoToLocalInput(value) {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return '';
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}
