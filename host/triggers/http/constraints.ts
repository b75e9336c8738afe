/**
 * Inline route constraints as ASP.NET Core routing defines them (`{id:int}`, `{x:length(2,5)}`,
 * `{x:regex(^a)}` ...). Each checks one route value; the route does not match when one fails.
 */
import { TidemarkError } from '../../../shared/errors';

export interface RouteConstraint {
  /** The constraint as written, e.g. `range(1,10)`. */
  readonly text: string;
  test(value: string): boolean;
}

const INT32 = [-(2n ** 31n), 2n ** 31n - 1n] as const;
const INT64 = [-(2n ** 63n), 2n ** 63n - 1n] as const;

function toBigInt(value: string): bigint | undefined {
  return /^[+-]?\d+$/.test(value) ? BigInt(value) : undefined;
}

function inRange(value: string, [lo, hi]: readonly [bigint, bigint]): boolean {
  const n = toBigInt(value);
  return n !== undefined && n >= lo && n <= hi;
}

const GUID =
  /^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}|\([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\))$/i;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)$/;
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

type Factory = (args: string[], raw: string) => (value: string) => boolean;

const noArgs =
  (test: (value: string) => boolean): Factory =>
  (args, raw) => {
    if (args.length > 0) throw new Error(`"${raw}" takes no arguments`);
    return test;
  };

function intArgs(args: string[], count: number[], raw: string): bigint[] {
  if (!count.includes(args.length))
    throw new Error(`"${raw}" needs ${count.join(' or ')} integer argument(s)`);
  return args.map((a) => {
    const n = toBigInt(a.trim());
    if (n === undefined) throw new Error(`"${raw}": "${a}" is not an integer`);
    return n;
  });
}

const FACTORIES: Record<string, Factory> = {
  int: noArgs((v) => inRange(v, INT32)),
  long: noArgs((v) => inRange(v, INT64)),
  bool: noArgs((v) => /^(?:true|false)$/i.test(v)),
  guid: noArgs((v) => GUID.test(v)),
  alpha: noArgs((v) => /^[a-z]*$/i.test(v)),
  decimal: noArgs((v) => DECIMAL.test(v)),
  double: noArgs((v) => FLOAT.test(v)),
  float: noArgs((v) => FLOAT.test(v)),
  datetime: noArgs((v) => !Number.isNaN(Date.parse(v))),
  required: noArgs((v) => v.length > 0),
  length: (args, raw) => {
    const [min, max = min] = intArgs(args, [1, 2], raw) as [bigint, bigint?];
    return (v) => BigInt(v.length) >= min && BigInt(v.length) <= max;
  },
  minlength: (args, raw) => {
    const [min] = intArgs(args, [1], raw) as [bigint];
    return (v) => BigInt(v.length) >= min;
  },
  maxlength: (args, raw) => {
    const [max] = intArgs(args, [1], raw) as [bigint];
    return (v) => BigInt(v.length) <= max;
  },
  min: (args, raw) => {
    const [min] = intArgs(args, [1], raw) as [bigint];
    return (v) => inRange(v, [min, INT64[1]]);
  },
  max: (args, raw) => {
    const [max] = intArgs(args, [1], raw) as [bigint];
    return (v) => inRange(v, [INT64[0], max]);
  },
  range: (args, raw) => {
    const [min, max] = intArgs(args, [2], raw) as [bigint, bigint];
    return (v) => inRange(v, [min, max]);
  },
};

export const SUPPORTED_CONSTRAINTS = [...Object.keys(FACTORIES), 'regex'];

/** Parses one constraint such as `int`, `length(2,5)` or `regex(^\d+$)`. */
export function parseConstraint(raw: string, route: string): RouteConstraint {
  const m = /^([a-z]+)(?:\((.*)\))?$/is.exec(raw);
  const name = m?.[1]?.toLowerCase();
  try {
    if (!m || !name) throw new Error(`"${raw}" is not a constraint`);
    const argText = m[2];
    if (name === 'regex') {
      if (argText === undefined) throw new Error('regex needs a pattern: regex(...)');
      // ASP.NET matches regex constraints case-insensitively and unanchored (Regex.IsMatch).
      const re = new RegExp(argText, 'i');
      return { text: raw, test: (v) => re.test(v) };
    }
    const factory = FACTORIES[name];
    if (!factory) throw new Error(`unknown constraint "${name}"`);
    const args = argText === undefined || argText === '' ? [] : argText.split(',');
    return { text: raw, test: factory(args, raw) };
  } catch (err) {
    throw new TidemarkError('InvalidConfig', `Route "${route}": ${(err as Error).message}.`, {
      hint: `Supported route constraints: ${SUPPORTED_CONSTRAINTS.join(', ')}.`,
    });
  }
}
