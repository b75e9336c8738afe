/**
 * The one logging interface of tidemark's library code. Library code takes a Logger and never calls
 * `console`. The host, agent and CLI back it with pino (see createPinoLogger in host/ and agent/);
 * functions adapt `context.log`; tests use a recording logger.
 *
 * Every implementation passes its message and fields through `redactMessage`/`redactFields` first, so
 * no log line carries a secret, whoever wrote it (docs: README "Security"): a SAS signature, a
 * function key or alert secret in a URL query (`sig=`, `code=`, `secret=`), a connection string's
 * `AccountKey=`, a key header, a field named like a secret, or a value registered with
 * `registerSecret` (the host's keys) anywhere in a string.
 */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export type LogFields = Record<string, unknown>;

export interface Logger {
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LogRecord {
  level: LogLevel;
  msg: string;
  fields: LogFields;
}

/** Keeps every record in memory; for tests and for the local host's log hooks. */
export class RecordingLogger implements Logger {
  constructor(
    readonly records: LogRecord[] = [],
    private readonly bound: LogFields = {},
  ) {}

  private push(level: LogLevel, msg: string, fields?: LogFields): void {
    this.records.push({ level, msg: redactMessage(msg), fields: redactFields({ ...this.bound, ...fields }) });
  }

  trace(msg: string, fields?: LogFields): void {
    this.push('trace', msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    this.push('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.push('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.push('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.push('error', msg, fields);
  }
  child(fields: LogFields): Logger {
    return new RecordingLogger(this.records, { ...this.bound, ...fields });
  }
}

export const silentLogger: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

/** What a redacted value reads as. */
export const REDACTED = '[REDACTED]';

/** Values shorter than this are never registered: they could be ordinary words. */
const MIN_SECRET_LENGTH = 8;
const registered = new Set<string>();

/**
 * Makes every logger in this process redact `value` wherever it appears (as is, or URL-encoded).
 * For secrets the process knows but no pattern finds, such as the host's function and master keys.
 */
export function registerSecret(value: string | undefined): void {
  if (value !== undefined && value.length >= MIN_SECRET_LENGTH) {
    registered.add(value);
    const encoded = encodeURIComponent(value);
    if (encoded !== value) registered.add(encoded);
  }
}

// Cheap first look: a string with none of these needs no redaction (registered secrets aside).
const SUSPECT =
  /sig=|sig%3d|code=|code%3d|secret|accountkey|sharedaccess|password|pwd=|functions-key|authorization/i;
const TEXT_RULES: [RegExp, string][] = [
  // A URL query value that is a credential: SAS signature, function key, alert secret.
  [/((?:[?&](?:sig|code|secret)|(?:^|[\s"'(;])sig)=)[^&#;,)\s"'<>\\]+/gi, `$1${REDACTED}`],
  // The same with the separator URL-encoded (a URL inside a URL).
  [/((?:%3F|%26)(?:sig|code|secret)%3D)(?:(?!%26|%23)[^&#;,)\s"'<>\\])+/gi, `$1${REDACTED}`],
  // Connection string parts that are credentials.
  [/\b(AccountKey|SharedAccessSignature|SharedAccessKey|Password|Pwd)=[^;\s"']+/gi, `$1=${REDACTED}`],
  // Key headers and Authorization values written as `name: value` or `"name":"value"`.
  [
    /\b(x-functions-key|x-tidemark-alert-secret|authorization)(["']?\s*[:=]\s*["']?)(?:(?:Bearer|Basic|SharedKey|SharedKeyLite) )?[^\s"',;]+/gi,
    `$1$2${REDACTED}`,
  ],
];

/** Field names whose values are secrets whatever they look like. */
const SECRET_FIELD =
  /^(?:x-functions-key|x-tidemark-alert-secret|authorization|password|secret|alertSecret|functionKey|masterKey|systemKey|accountKey|sasToken|sas|sig|connectionString|.*ConnectionString)$/i;

/** `text` with every secret it holds replaced by REDACTED. */
export function redactMessage(text: string): string {
  let out = text;
  for (const secret of registered) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  if (!SUSPECT.test(out)) return out;
  for (const [re, replacement] of TEXT_RULES) out = out.replace(re, replacement);
  return out;
}

const MAX_DEPTH = 8;

/**
 * `fields` with every secret redacted: strings as by redactMessage, secret-named fields whole, and
 * the same inside nested objects, arrays and errors (an error that held one becomes a plain object
 * with its name, message, stack and own fields). What holds no secret is returned as it is.
 */
export function redactFields(fields: LogFields): LogFields {
  return flatRedacted(fields) ?? (redactValue(fields, 0, new WeakSet()) as LogFields);
}

/**
 * The common case, a plain object whose values are all primitives (an invocation's log line): the
 * same result as redactValue, without its cycle bookkeeping. Undefined when a value is an object.
 */
function flatRedacted(fields: LogFields): LogFields | undefined {
  const proto: unknown = Object.getPrototypeOf(fields);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const keys = Object.keys(fields);
  const values: unknown[] = new Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const v = fields[keys[i] as string];
    if (v !== null && typeof v === 'object') return undefined;
    values[i] = v;
  }
  let out: LogFields | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const v = values[i];
    const r =
      SECRET_FIELD.test(key) && v !== undefined && v !== null && v !== ''
        ? REDACTED
        : typeof v === 'string'
          ? redactMessage(v)
          : v;
    if (r !== v && !out) {
      out = {};
      for (let j = 0; j < i; j++) out[keys[j] as string] = values[j];
    }
    if (out) out[key] = r;
  }
  return out ?? fields;
}

function redactValue(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactMessage(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof URL) {
    const href = redactMessage(value.href);
    return href === value.href ? value : href;
  }
  if (ArrayBuffer.isView(value) || value instanceof Date) return value;
  // A cycle back to an object being redacted would print it again, unredacted.
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return deepValue(value);
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      let changed = false;
      const out = value.map((v: unknown) => {
        const r = redactValue(v, depth + 1, seen);
        if (r !== v) changed = true;
        return r;
      });
      return changed ? out : value;
    }
    const entries = Object.entries(value);
    if (value instanceof Error) {
      entries.unshift(['name', value.name], ['message', value.message], ['stack', value.stack]);
    }
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [key, v] of entries) {
      const r =
        SECRET_FIELD.test(key) && v !== undefined && v !== null && v !== ''
          ? REDACTED
          : redactValue(v, depth + 1, seen);
      if (r !== v) changed = true;
      out[key] = r;
    }
    return changed ? out : value;
  } finally {
    seen.delete(value);
  }
}

/** Past MAX_DEPTH: kept as it is unless its JSON holds a secret, then that JSON redacted. */
function deepValue(value: object): unknown {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    return '[Unserializable]';
  }
  if (json === undefined) return value;
  const redacted = redactMessage(json);
  return redacted === json ? value : redacted;
}
