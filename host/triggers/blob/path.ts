/**
 * Blob trigger paths as the WebJobs SDK reads them (BlobPathSource, BindingTemplateParser,
 * BindingTemplateSource): `container/blobPattern`, where the container is literal and the blob
 * pattern mixes literal text with `{placeholder}`s. `{{` and `}}` stand for literal braces and
 * `%Setting%` references are resolved first. Each placeholder captures greedily (`(?<p>.*)`), the
 * whole name must match, and matching is case-sensitive, like the SDK's capture regex.
 */
import { TidemarkError } from '../../../shared/errors';
import type { Settings } from '../../settings';

export type PathToken = { literal: string } | { param: string };

export interface BlobPath {
  /** The pattern after `%Setting%` resolution, e.g. `deltas/{vm}/{name}.bin`. */
  readonly pattern: string;
  readonly container: string;
  /** The blob part of the pattern, e.g. `{vm}/{name}.bin`. */
  readonly blobPattern: string;
  /** Placeholder names in order, e.g. `['vm', 'name']`. */
  readonly params: readonly string[];
  /** Literal text before the first placeholder; the listing prefix. */
  readonly prefix: string;
  /** Binding data (placeholder → captured text) when `blobName` matches, else undefined. */
  match(blobName: string): Record<string, string> | undefined;
}

const PARAM = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const CONTAINER = /^(?:\$root|\$web|\$logs|[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9])$/;

function invalid(what: string, pattern: string, problem: string): TidemarkError {
  return new TidemarkError('InvalidConfig', `${what}: invalid blob path "${pattern}": ${problem}`, {
    hint:
      'Use "container/blob", e.g. "samples/{name}" or "samples/{folder}/{name}.{ext}"; ' +
      'write {{ and }} for literal braces.',
  });
}

/** Splits a blob pattern into literal text and placeholders, honouring `{{` / `}}` escapes. */
export function tokenizeBlobPattern(blobPattern: string, what = 'blob path'): PathToken[] {
  const tokens: PathToken[] = [];
  let literal = '';
  const seen = new Set<string>();
  for (let i = 0; i < blobPattern.length; i++) {
    const ch = blobPattern[i];
    const next = blobPattern[i + 1];
    if ((ch === '{' && next === '{') || (ch === '}' && next === '}')) {
      literal += ch;
      i++;
    } else if (ch === '{') {
      const end = blobPattern.indexOf('}', i + 1);
      if (end < 0)
        throw invalid(what, blobPattern, `"{" at ${i} is not closed (write "{{" for a literal brace).`);
      const name = blobPattern.slice(i + 1, end).trim();
      if (!PARAM.test(name)) throw invalid(what, blobPattern, `"{${name}}" is not a valid placeholder name.`);
      if (seen.has(name.toLowerCase()))
        throw invalid(what, blobPattern, `the placeholder {${name}} appears twice.`);
      seen.add(name.toLowerCase());
      if (literal) tokens.push({ literal });
      literal = '';
      tokens.push({ param: name });
      i = end;
    } else if (ch === '}') {
      throw invalid(what, blobPattern, `"}" at ${i} has no opening "{" (write "}}" for a literal brace).`);
    } else {
      literal += ch;
    }
  }
  if (literal) tokens.push({ literal });
  return tokens;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Compiles a blob trigger `path` (after resolving `%Setting%` references). */
export function compileBlobPath(raw: string, settings: Settings, what = 'blob trigger'): BlobPath {
  const pattern = settings.resolve(String(raw ?? ''), what).trim();
  const slash = pattern.indexOf('/');
  if (slash <= 0 || slash === pattern.length - 1) {
    throw invalid(what, pattern, 'paths must be in the form "container/blob".');
  }
  const container = pattern.slice(0, slash);
  const blobPattern = pattern.slice(slash + 1);
  if (container.includes('{') || container.includes('}')) {
    throw invalid(what, pattern, 'the container name of a blob trigger cannot contain placeholders.');
  }
  if (!CONTAINER.test(container)) {
    throw invalid(
      what,
      pattern,
      `"${container}" is not a valid container name (3-63 lower-case letters, digits and single hyphens).`,
    );
  }
  const tokens = tokenizeBlobPattern(blobPattern, what);
  const params: string[] = [];
  let prefix = '';
  let inPrefix = true;
  let source = '^';
  for (const token of tokens) {
    if ('param' in token) {
      inPrefix = false;
      params.push(token.param);
      source += '(.*)';
    } else {
      if (inPrefix) prefix += token.literal;
      source += escapeRegex(token.literal);
    }
  }
  const regex = new RegExp(source + '$');
  return {
    pattern,
    container,
    blobPattern,
    params,
    prefix,
    match(blobName: string) {
      const m = regex.exec(blobName);
      if (!m) return undefined;
      const data: Record<string, string> = {};
      params.forEach((name, i) => (data[name] = m[i + 1] ?? ''));
      return data;
    },
  };
}

/** Splits a resolved binding path (`container/blob/name`) of a blob input or output binding. */
export function splitBlobPath(resolved: string, what: string): { container: string; blobName: string } {
  const path = resolved.trim().replace(/^\/+/, '');
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) {
    throw new TidemarkError('InvalidArgument', `${what}: "${resolved}" is not a "container/blob" path.`, {
      hint: 'Blob binding paths name a container and a blob, e.g. "out/{name}.json".',
    });
  }
  const container = path.slice(0, slash);
  if (!CONTAINER.test(container)) {
    throw new TidemarkError('InvalidArgument', `${what}: "${container}" is not a valid container name.`, {
      hint: 'Container names are 3-63 lower-case letters, digits and single hyphens.',
    });
  }
  return { container, blobName: path.slice(slash + 1) };
}
