/**
 * ASP.NET Core route templates, the syntax of an HTTP trigger's `route`: literal segments
 * (case-insensitive), `{param}`, optional `{param?}`, defaults `{param=value}`, catch-all
 * `{*rest}` / `{**rest}`, inline constraints `{id:int:min(1)}`, complex segments `{name}.{ext}`,
 * and `{{` / `}}` for literal braces.
 */
import { TidemarkError } from '../../../shared/errors';
import { parseConstraint, type RouteConstraint } from './constraints';

export interface LiteralPart {
  kind: 'literal';
  text: string;
  lower: string;
}

export interface ParamPart {
  kind: 'param';
  name: string;
  optional: boolean;
  catchAll: boolean;
  defaultValue?: string;
  constraints: RouteConstraint[];
}

export type RoutePart = LiteralPart | ParamPart;

export interface RouteSegment {
  parts: RoutePart[];
  /** Set for complex segments (several parts), matched as one regular expression. */
  pattern?: RegExp;
}

export interface RouteTemplate {
  text: string;
  segments: RouteSegment[];
}

function invalid(template: string, problem: string): TidemarkError {
  return new TidemarkError('InvalidConfig', `Route "${template}" is invalid: ${problem}.`, {
    hint: 'Routes use the ASP.NET Core template syntax, e.g. "products/{category:alpha}/{id:int?}".',
  });
}

/** Splits on `sep` where it is not inside parentheses (constraint arguments may contain it). */
function splitTopLevel(text: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (c === sep && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

function parseParam(body: string, template: string): ParamPart {
  let text = body.trim();
  let catchAll = false;
  if (text.startsWith('*')) {
    catchAll = true;
    text = text.replace(/^\*\*?/, '');
  }
  let optional = false;
  if (text.endsWith('?')) {
    optional = true;
    text = text.slice(0, -1);
  }
  const [head = '', ...rest] = splitTopLevel(text, '=');
  const defaultValue = rest.length > 0 ? rest.join('=') : undefined;
  const [name = '', ...constraintTexts] = splitTopLevel(head, ':');
  if (!/^[^/{}?*=:]+$/.test(name)) throw invalid(template, `"{${body}}" has no valid parameter name`);
  if (optional && defaultValue !== undefined)
    throw invalid(template, `"{${body}}" cannot be both optional and have a default`);
  if (optional && catchAll) throw invalid(template, `catch-all "{${body}}" cannot be optional`);
  return {
    kind: 'param',
    name,
    optional,
    catchAll,
    defaultValue,
    constraints: constraintTexts.map((c) => parseConstraint(c, template)),
  };
}

/** Splits a template into segments of literal and parameter parts, honouring `{{` and `}}`. */
function tokenize(template: string, body: string): RoutePart[][] {
  const segments: RoutePart[][] = [[]];
  let literal = '';
  const current = (): RoutePart[] => segments[segments.length - 1] as RoutePart[];
  const flush = (): void => {
    if (literal) current().push({ kind: 'literal', text: literal, lower: literal.toLowerCase() });
    literal = '';
  };
  for (let i = 0; i < body.length;) {
    const c = body[i];
    const next = body[i + 1];
    if ((c === '{' && next === '{') || (c === '}' && next === '}')) {
      literal += c;
      i += 2;
    } else if (c === '}') {
      throw invalid(template, 'it has an unmatched "}" (write "}}" for a literal brace)');
    } else if (c === '{') {
      flush();
      let j = i + 1;
      let param = '';
      for (; j < body.length; j++) {
        const d = body[j];
        if ((d === '{' || d === '}') && body[j + 1] === d) {
          param += d;
          j++;
        } else if (d === '}') break;
        else if (d === '{') throw invalid(template, 'a parameter contains "{" (write "{{" inside regex)');
        else param += d;
      }
      if (j >= body.length) throw invalid(template, 'a parameter has no closing "}"');
      current().push(parseParam(param, template));
      i = j + 1;
    } else if (c === '/') {
      flush();
      if (current().length === 0) throw invalid(template, 'it has an empty segment ("//")');
      segments.push([]);
      i++;
    } else {
      literal += c;
      i++;
    }
  }
  flush();
  if (segments.length === 1 && current().length === 0) return [];
  if (current().length === 0) throw invalid(template, 'it has an empty segment');
  return segments;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function parseRouteTemplate(template: string): RouteTemplate {
  const body = template.replace(/^~?\/+/, '').replace(/\/+$/, '');
  const partsBySegment = tokenize(template, body);
  const names = new Set<string>();
  const segments = partsBySegment.map((parts, index): RouteSegment => {
    for (const [i, part] of parts.entries()) {
      if (part.kind !== 'param') continue;
      const key = part.name.toLowerCase();
      if (names.has(key)) throw invalid(template, `the parameter "${part.name}" appears twice`);
      names.add(key);
      if (part.catchAll && index !== partsBySegment.length - 1)
        throw invalid(template, `catch-all "{*${part.name}}" must be the last segment`);
      if (parts.length > 1 && (part.catchAll || part.optional))
        throw invalid(template, `"${part.name}" cannot be optional or catch-all inside a segment with text`);
      if (parts[i + 1]?.kind === 'param')
        throw invalid(template, 'a segment cannot hold two parameters with no text between them');
    }
    if (parts.length === 1) return { parts };
    const source = parts.map((p) => (p.kind === 'literal' ? escapeRegExp(p.text) : '(.+)')).join('');
    return { parts, pattern: new RegExp(`^${source}$`, 'i') };
  });
  return { text: template, segments };
}

/** Splits a URL path (percent-encoded) into decoded segments, ignoring one trailing slash. */
export function splitPath(pathname: string): string[] {
  // One leading and one trailing slash off, without regular expressions (this runs per request).
  const start = pathname.startsWith('/') ? 1 : 0;
  const end = pathname.length > start && pathname.endsWith('/') ? pathname.length - 1 : pathname.length;
  const body = pathname.slice(start, end);
  if (body === '') return [];
  return body.split('/').map((s) => {
    if (!s.includes('%')) return s;
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
}

function accept(param: ParamPart, value: string, values: Record<string, string>): boolean {
  for (const c of param.constraints) if (!c.test(value)) return false;
  values[param.name] = value;
  return true;
}

/** The route values when `path` (from splitPath) matches, else undefined. */
export function matchRoute(
  template: RouteTemplate,
  path: readonly string[],
): Record<string, string> | undefined {
  const values: Record<string, string> = {};
  const { segments } = template;
  for (let i = 0; i < segments.length; i++) {
    const { parts, pattern } = segments[i] as RouteSegment;
    const first = parts[0] as RoutePart;
    if (first.kind === 'param' && first.catchAll) {
      const rest = path.slice(i).join('/');
      const value = rest === '' ? first.defaultValue : rest;
      if (value !== undefined && !accept(first, value, values)) return undefined;
      return values;
    }
    const value = path[i];
    if (value === undefined) {
      if (parts.length !== 1 || first.kind !== 'param') return undefined;
      if (first.defaultValue !== undefined) {
        if (!accept(first, first.defaultValue, values)) return undefined;
      } else if (!first.optional) return undefined;
      continue;
    }
    if (!pattern) {
      if (first.kind === 'literal') {
        if (value.toLowerCase() !== first.lower) return undefined;
      } else if (value === '' || !accept(first, value, values)) return undefined;
      continue;
    }
    const m = pattern.exec(value);
    if (!m) return undefined;
    let group = 1;
    for (const part of parts) {
      if (part.kind === 'param' && !accept(part, m[group++] as string, values)) return undefined;
    }
  }
  return path.length > segments.length ? undefined : values;
}

/**
 * Route order of the Functions host (WebJobsRouteBuilder.RouteComparison): per segment a literal
 * beats a parameter, a parameter with more constraints beats one with fewer, literals compare
 * case-insensitively; a longer template comes first.
 */
export function compareRoutes(x: RouteTemplate, y: RouteTemplate): number {
  for (let i = 0; i < x.segments.length; i++) {
    const ys = y.segments[i];
    if (!ys) return -1;
    const a = (x.segments[i] as RouteSegment).parts[0] as RoutePart;
    const b = ys.parts[0] as RoutePart;
    if (a.kind === 'literal' && b.kind === 'literal') {
      const ua = a.text.toUpperCase();
      const ub = b.text.toUpperCase();
      if (ua !== ub) return ua < ub ? -1 : 1;
    } else if (a.kind === 'literal') return -1;
    else if (b.kind === 'literal') return 1;
    else if (a.constraints.length !== b.constraints.length) {
      return b.constraints.length - a.constraints.length;
    }
  }
  return y.segments.length > x.segments.length ? 1 : 0;
}

/** Two templates with the same shape match the same paths, whatever their parameter names. */
export function routeShape(template: RouteTemplate): string {
  return template.segments
    .map((s) =>
      s.parts
        .map((p) =>
          p.kind === 'literal'
            ? p.lower
            : `{${p.catchAll ? '*' : ''}${p.constraints.map((c) => `:${c.text.toLowerCase()}`).join('')}${p.optional ? '?' : ''}}`,
        )
        .join(''),
    )
    .join('/');
}
