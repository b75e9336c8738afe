/**
 * A small, purpose-built reader of Bicep for the tests of infra/ (the Bicep CLI can't be installed
 * here). It tokenizes a file (comments, '…' strings with ${…} interpolation, '''…''' strings,
 * brackets) and checks what a typo breaks first:
 *
 * - brackets, braces and parentheses balance; every string and ${…} closes;
 * - `module x 'path'` paths exist, the params a module is given are ones it declares, and its
 *   required params are given;
 * - every identifier an expression uses is declared (param, var, resource, module, loop variable)
 *   or a Bicep function; every param and var declared is used;
 * - every resource type string has an `@api-version`;
 * - outputs carry no secrets (no list*() call, no @secure() param);
 * - a parameters file sets only params main.bicep declares, and every required one.
 *
 * It also reads the app settings a template sets (`Microsoft.Web/sites/config` `appsettings`, or
 * `appSettings: [{ name: … }]`), for the drift test against shared/settings.ts.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface Token {
  kind: 'ident' | 'string' | 'number' | 'punct';
  /** Identifier or punctuation text; a string's literal text (interpolations kept as `${…}`). */
  text: string;
  line: number;
  col: number;
  /** Open brackets around the token (a string's own `${` counts). */
  depth: number;
  /** Strings: whether the string has `${…}` in it. */
  interpolated?: boolean;
}

export interface Tokenized {
  tokens: Token[];
  problems: string[];
}

const OPENERS: Record<string, string> = { '{': '}', '[': ']', '(': ')' };
const CLOSERS: Record<string, string> = { '}': '{', ']': '[', ')': '(' };

/** Splits Bicep text into tokens, reporting unbalanced brackets and unterminated strings, comments and interpolations. */
export function tokenize(text: string, file = '<bicep>'): Tokenized {
  const tokens: Token[] = [];
  const problems: string[] = [];
  /** Open brackets, and `${` of interpolations. */
  const stack: { ch: string; line: number; col: number }[] = [];
  /** Strings being read (an interpolation can hold another string). */
  const strings: Token[] = [];
  let i = 0;
  let line = 1;
  let col = 1;
  const at = (l: number, c: number): string => `${file}:${l}:${c}`;
  const advance = (n = 1): void => {
    for (let k = 0; k < n; k++) {
      if (text[i] === '\n') {
        line += 1;
        col = 1;
      } else {
        col += 1;
      }
      i += 1;
    }
  };
  /** Reading the body of a '…' string: the innermost open thing is a string, not an interpolation. */
  const inString = (): boolean => strings.length > 0 && stack.length === strings[strings.length - 1]!.depth;

  while (i < text.length) {
    const c = text[i]!;
    if (inString()) {
      const token = strings[strings.length - 1]!;
      if (c === '\\') {
        token.text += text.slice(i, i + 2);
        advance(2);
      } else if (c === "'") {
        strings.pop();
        advance();
      } else if (c === '$' && text[i + 1] === '{') {
        token.interpolated = true;
        token.text += '${…}';
        stack.push({ ch: '${', line, col });
        advance(2);
      } else if (c === '\n') {
        problems.push(`${at(token.line, token.col)}: string not closed on its line`);
        strings.pop();
      } else {
        token.text += c;
        advance();
      }
      continue;
    }
    if (c === '\n' || c === ' ' || c === '\t' || c === '\r') {
      advance();
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') advance();
    } else if (c === '/' && text[i + 1] === '*') {
      const start = { line, col };
      const end = text.indexOf('*/', i + 2);
      if (end < 0) {
        problems.push(`${at(start.line, start.col)}: comment not closed`);
        advance(text.length - i);
      } else {
        advance(end + 2 - i);
      }
    } else if (text.startsWith("'''", i)) {
      const start = { line, col };
      const end = text.indexOf("'''", i + 3);
      if (end < 0) {
        problems.push(`${at(start.line, start.col)}: ''' string not closed`);
        advance(text.length - i);
      } else {
        tokens.push({ kind: 'string', text: text.slice(i + 3, end), ...start, depth: stack.length });
        advance(end + 3 - i);
      }
    } else if (c === "'") {
      const token: Token = { kind: 'string', text: '', line, col, depth: stack.length };
      tokens.push(token);
      strings.push(token);
      advance();
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))![0];
      tokens.push({ kind: 'ident', text: m, line, col, depth: stack.length });
      advance(m.length);
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(text.slice(i))![0];
      tokens.push({ kind: 'number', text: m, line, col, depth: stack.length });
      advance(m.length);
    } else if (OPENERS[c]) {
      tokens.push({ kind: 'punct', text: c, line, col, depth: stack.length });
      stack.push({ ch: c, line, col });
      advance();
    } else if (CLOSERS[c]) {
      const open = stack[stack.length - 1];
      if (c === '}' && open?.ch === '${') {
        stack.pop();
        advance();
        continue;
      }
      if (!open || open.ch !== CLOSERS[c]) {
        problems.push(
          open
            ? `${at(line, col)}: '${c}' closes '${open.ch}' opened at ${open.line}:${open.col}`
            : `${at(line, col)}: '${c}' closes nothing`,
        );
      } else {
        stack.pop();
      }
      tokens.push({ kind: 'punct', text: c, line, col, depth: stack.length });
      advance();
    } else {
      tokens.push({ kind: 'punct', text: c, line, col, depth: stack.length });
      advance();
    }
  }
  for (const s of strings) problems.push(`${at(s.line, s.col)}: string not closed`);
  for (const open of stack) {
    problems.push(
      open.ch === '${'
        ? `${at(open.line, open.col)}: '\${' interpolation not closed`
        : `${at(open.line, open.col)}: '${open.ch}' not closed`,
    );
  }
  return { tokens, problems };
}

// ── declarations ───────────────────────────────────────────────────────────────────────────────

export interface ParamDeclaration {
  name: string;
  type: string;
  required: boolean;
  secure: boolean;
  /** Its decorators' names (`description`, `secure`, `allowed`…). */
  decorators: string[];
  line: number;
}

export interface BicepFile {
  file: string;
  text: string;
  tokens: Token[];
  problems: string[];
  params: Map<string, ParamDeclaration>;
  vars: Map<string, number>;
  resources: { name: string; type: string; line: number; start: number; end: number }[];
  modules: { name: string; path: string; line: number; start: number; end: number }[];
  outputs: { name: string; line: number; start: number; end: number }[];
}

const KEYWORDS = new Set([
  'targetScope',
  'param',
  'var',
  'resource',
  'module',
  'output',
  'existing',
  'if',
  'for',
  'in',
  'true',
  'false',
  'null',
  'import',
  'as',
  'with',
  'using',
  'type',
  'func',
  'metadata',
  'extension',
  'az',
  'sys',
  'string',
  'int',
  'bool',
  'object',
  'array',
]);

/** Keywords that are also functions (`string(x)`). */
const CALLABLE_KEYWORDS = new Set(['string', 'int', 'bool', 'array']);

/** Bicep's functions (https://learn.microsoft.com/azure/azure-resource-manager/bicep/bicep-functions). */
const FUNCTIONS = new Set([
  'any',
  'array',
  'base64',
  'base64ToJson',
  'base64ToString',
  'bool',
  'buildUri',
  'cidrHost',
  'cidrSubnet',
  'concat',
  'contains',
  'dataUri',
  'dataUriToString',
  'dateTimeAdd',
  'dateTimeFromEpoch',
  'dateTimeToEpoch',
  'deployer',
  'deployment',
  'empty',
  'endsWith',
  'environment',
  'extensionResourceId',
  'filter',
  'first',
  'flatten',
  'format',
  'getSecret',
  'groupBy',
  'guid',
  'indexOf',
  'int',
  'intersection',
  'items',
  'join',
  'json',
  'last',
  'lastIndexOf',
  'length',
  'listAccountSas',
  'listKeys',
  'listSecrets',
  'loadFileAsBase64',
  'loadJsonContent',
  'loadTextContent',
  'loadYamlContent',
  'managementGroup',
  'managementGroupResourceId',
  'map',
  'mapValue',
  'max',
  'min',
  'newGuid',
  'objectKeys',
  'padLeft',
  'parseCidr',
  'parseUri',
  'pickZones',
  'range',
  'readEnvironmentVariable',
  'reduce',
  'reference',
  'replace',
  'resourceGroup',
  'resourceId',
  'shallowMerge',
  'skip',
  'sort',
  'split',
  'startsWith',
  'string',
  'subscription',
  'subscriptionResourceId',
  'substring',
  'take',
  'tenant',
  'tenantResourceId',
  'toLower',
  'toObject',
  'toUpper',
  'trim',
  'tryGet',
  'union',
  'uniqueString',
  'uri',
  'uriComponent',
  'uriComponentToString',
  'utcNow',
]);

const RESOURCE_TYPE = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)+(\/[A-Za-z0-9]+)+@\d{4}-\d{2}-\d{2}(-[a-z]+)?$/;

/** The index of the bracket closing the one at `open`. */
function matching(tokens: Token[], open: number): number {
  const depth = tokens[open]!.depth;
  for (let k = open + 1; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind === 'punct' && CLOSERS[t.text] && t.depth === depth) return k;
  }
  return tokens.length - 1;
}

/** Where a statement starting at `start` ends: the end of its line, or of the brackets its line opens. */
function statementEnd(tokens: Token[], start: number): number {
  let end = start;
  for (let k = start + 1; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.depth === 0 && t.line !== tokens[k - 1]!.line) break;
    end = k;
    if (t.kind === 'punct' && OPENERS[t.text] && t.depth === 0) {
      end = matching(tokens, k);
      k = end;
    }
  }
  return end;
}

/** Whether token k is an object key: `key:` first on its line, or after `{` or `,`. */
function isObjectKey(tokens: Token[], k: number): boolean {
  const t = tokens[k]!;
  const next = tokens[k + 1];
  if (!next || next.text !== ':' || next.kind !== 'punct') return false;
  const prev = tokens[k - 1];
  return !prev || prev.line !== t.line || prev.text === '{' || prev.text === ',';
}

export function parseBicep(text: string, file = '<bicep>'): BicepFile {
  const { tokens, problems } = tokenize(text, file);
  const out: BicepFile = {
    file,
    text,
    tokens,
    problems,
    params: new Map(),
    vars: new Map(),
    resources: [],
    modules: [],
    outputs: [],
  };
  let decorators: string[] = [];
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.depth !== 0) continue;
    if (t.kind === 'punct' && t.text === '@') {
      decorators.push(tokens[k + 1]?.text ?? '');
      continue;
    }
    if (t.kind !== 'ident') continue;
    const first = k === 0 || tokens[k - 1]!.line !== t.line || tokens[k - 1]!.depth !== 0;
    if (!first) continue;
    const name = tokens[k + 1];
    const end = statementEnd(tokens, k);
    if (t.text === 'param' && name?.kind === 'ident') {
      const rest = tokens.slice(k + 2, end + 1).filter((x) => x.line === t.line);
      out.params.set(name.text, {
        name: name.text,
        type: tokens[k + 2]?.text ?? '',
        required: !rest.some((x) => x.kind === 'punct' && x.text === '='),
        secure: decorators.includes('secure'),
        decorators,
        line: t.line,
      });
    } else if (t.text === 'var' && name?.kind === 'ident') {
      out.vars.set(name.text, t.line);
    } else if (t.text === 'resource' && name?.kind === 'ident') {
      const type = tokens[k + 2];
      out.resources.push({
        name: name.text,
        type: type?.kind === 'string' ? type.text : '',
        line: t.line,
        start: k,
        end,
      });
    } else if (t.text === 'module' && name?.kind === 'ident') {
      const p = tokens[k + 2];
      out.modules.push({
        name: name.text,
        path: p?.kind === 'string' ? p.text : '',
        line: t.line,
        start: k,
        end,
      });
    } else if (t.text === 'output' && name?.kind === 'ident') {
      out.outputs.push({ name: name.text, line: t.line, start: k, end });
    }
    decorators = [];
  }
  return out;
}

/** Names a file declares for expressions to use: params, vars, resources, modules, loop variables. */
function declaredSymbols(parsed: BicepFile): Set<string> {
  const names = new Set<string>([
    ...parsed.params.keys(),
    ...parsed.vars.keys(),
    ...parsed.resources.map((r) => r.name),
    ...parsed.modules.map((m) => m.name),
  ]);
  const { tokens } = parsed;
  for (let k = 0; k < tokens.length; k++) {
    if (tokens[k]!.text !== 'for' || tokens[k]!.kind !== 'ident') continue;
    // for x in …   |   for (x, i) in …
    for (let j = k + 1; j < tokens.length && tokens[j]!.text !== 'in'; j++) {
      if (tokens[j]!.kind === 'ident') names.add(tokens[j]!.text);
    }
  }
  for (let k = 0; k < tokens.length; k++) {
    // x => …   |   (x, y) => …
    if (tokens[k]!.text !== '=' || tokens[k + 1]?.text !== '>') continue;
    const prev = tokens[k - 1];
    if (prev?.kind === 'ident') names.add(prev.text);
    else if (prev?.text === ')') {
      for (let j = k - 2; j >= 0 && tokens[j]!.text !== '('; j--) {
        if (tokens[j]!.kind === 'ident') names.add(tokens[j]!.text);
      }
    }
  }
  return names;
}

/** The identifiers expressions use, each with where. */
function references(parsed: BicepFile): { name: string; line: number; call: boolean }[] {
  const { tokens } = parsed;
  const out: { name: string; line: number; call: boolean }[] = [];
  const declarationSites = new Set<number>();
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (
      t.kind === 'ident' &&
      t.depth === 0 &&
      ['param', 'var', 'resource', 'module', 'output'].includes(t.text)
    ) {
      declarationSites.add(k + 1);
      if (t.text === 'param' || t.text === 'output') declarationSites.add(k + 2); // the type
    }
    if (t.kind === 'ident' && t.text === 'for') {
      for (let j = k + 1; j < tokens.length && tokens[j]!.text !== 'in'; j++) declarationSites.add(j);
    }
  }
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind !== 'ident' || declarationSites.has(k)) continue;
    const prev = tokens[k - 1];
    if (prev?.kind === 'punct' && (prev.text === '.' || prev.text === '@')) continue;
    if (isObjectKey(tokens, k)) continue;
    if (KEYWORDS.has(t.text) && !(CALLABLE_KEYWORDS.has(t.text) && tokens[k + 1]?.text === '(')) continue;
    out.push({ name: t.text, line: t.line, call: tokens[k + 1]?.text === '(' });
  }
  return out;
}

/** Problems of one file on its own (not across modules). */
export function checkBicepFile(parsed: BicepFile): string[] {
  const problems = [...parsed.problems];
  const where = (line: number): string => `${parsed.file}:${line}`;
  const declared = declaredSymbols(parsed);
  const used = new Set<string>();
  for (const ref of references(parsed)) {
    used.add(ref.name);
    if (ref.call) {
      if (!FUNCTIONS.has(ref.name) && !declared.has(ref.name)) {
        problems.push(`${where(ref.line)}: '${ref.name}(' is not a Bicep function`);
      }
    } else if (!declared.has(ref.name)) {
      problems.push(`${where(ref.line)}: '${ref.name}' is not declared`);
    }
  }
  for (const p of parsed.params.values()) {
    if (!used.has(p.name)) problems.push(`${where(p.line)}: param '${p.name}' is declared but not used`);
  }
  for (const [name, line] of parsed.vars) {
    if (!used.has(name)) problems.push(`${where(line)}: var '${name}' is declared but not used`);
  }
  for (const r of parsed.resources) {
    if (!RESOURCE_TYPE.test(r.type)) {
      problems.push(
        `${where(r.line)}: resource '${r.name}' type '${r.type}' has no @api-version (Type@yyyy-mm-dd)`,
      );
    }
  }
  const secure = new Set([...parsed.params.values()].filter((p) => p.secure).map((p) => p.name));
  for (const o of parsed.outputs) {
    for (const t of parsed.tokens.slice(o.start, o.end + 1)) {
      if (t.kind === 'ident' && /^list[A-Z]/.test(t.text)) {
        problems.push(
          `${where(o.line)}: output '${o.name}' calls ${t.text}(): outputs must not carry secrets`,
        );
      }
      if (
        t.kind === 'ident' &&
        secure.has(t.text) &&
        parsed.tokens[parsed.tokens.indexOf(t) - 1]?.text !== '.'
      ) {
        problems.push(`${where(o.line)}: output '${o.name}' uses the @secure() param '${t.text}'`);
      }
    }
  }
  return problems;
}

/** The keys of the object literal that opens at token `open` (`{`). */
function objectKeys(tokens: Token[], open: number): { key: string; index: number }[] {
  const close = matching(tokens, open);
  const depth = tokens[open]!.depth + 1;
  const keys: { key: string; index: number }[] = [];
  for (let k = open + 1; k < close; k++) {
    const t = tokens[k]!;
    if (t.depth !== depth || (t.kind !== 'ident' && t.kind !== 'string')) continue;
    if (isObjectKey(tokens, k)) keys.push({ key: t.text, index: k });
  }
  return keys;
}

/** The `{` of the value of key `key` among the keys of the object at `open`, if it is an object literal. */
function objectValue(tokens: Token[], open: number, key: string): number | undefined {
  const found = objectKeys(tokens, open).find((k) => k.key === key);
  if (!found) return undefined;
  const value = tokens[found.index + 2];
  return value?.kind === 'punct' && value.text === '{' ? found.index + 2 : undefined;
}

/** The first `{` of a resource or module body (after `= `, `= if (…) `, or `= [for …: `). */
function bodyOpen(tokens: Token[], start: number, end: number): number | undefined {
  for (let k = start; k <= end; k++) {
    const t = tokens[k]!;
    if (t.kind === 'punct' && t.text === '{') return k;
  }
  return undefined;
}

/** Module calls: the params each passes, checked against the module file. */
export function checkModuleCalls(parsed: BicepFile, load: (file: string) => BicepFile): string[] {
  const problems: string[] = [];
  for (const m of parsed.modules) {
    const where = `${parsed.file}:${m.line}`;
    if (!m.path || /^(br|ts)[:/]/.test(m.path)) continue;
    const file = path.resolve(path.dirname(parsed.file), m.path);
    if (!fs.existsSync(file)) {
      problems.push(`${where}: module '${m.name}' path '${m.path}' does not exist`);
      continue;
    }
    const target = load(file);
    const open = bodyOpen(parsed.tokens, m.start, m.end);
    const paramsOpen = open === undefined ? undefined : objectValue(parsed.tokens, open, 'params');
    const given = paramsOpen === undefined ? [] : objectKeys(parsed.tokens, paramsOpen).map((k) => k.key);
    for (const key of given) {
      if (!target.params.has(key))
        problems.push(`${where}: module '${m.name}' is given '${key}', which ${m.path} does not declare`);
    }
    for (const p of target.params.values()) {
      if (p.required && !given.includes(p.name)) {
        problems.push(`${where}: module '${m.name}' is not given '${p.name}', which ${m.path} requires`);
      }
    }
  }
  return problems;
}

/** A deployment parameters file against the template's params. */
export function checkParametersFile(parametersFile: string, main: BicepFile): string[] {
  const problems: string[] = [];
  let json: { parameters?: Record<string, unknown> };
  try {
    json = JSON.parse(fs.readFileSync(parametersFile, 'utf8')) as typeof json;
  } catch (err) {
    return [`${parametersFile}: not JSON (${(err as Error).message})`];
  }
  const keys = Object.keys(json.parameters ?? {});
  for (const key of keys) {
    if (!main.params.has(key)) problems.push(`${parametersFile}: '${key}' is not a param of ${main.file}`);
    const entry = json.parameters?.[key] as { value?: unknown; reference?: unknown } | undefined;
    if (!entry || (entry.value === undefined && entry.reference === undefined)) {
      problems.push(`${parametersFile}: '${key}' has no value`);
    }
  }
  for (const p of main.params.values()) {
    if (p.required && !keys.includes(p.name))
      problems.push(`${parametersFile}: required param '${p.name}' is missing`);
  }
  return problems;
}

/** Every problem of a template, its modules (recursively) and, when given, its parameters file. */
export function checkBicepProject(
  mainFile: string,
  parametersFile?: string,
): { problems: string[]; files: string[] } {
  const cache = new Map<string, BicepFile>();
  const load = (file: string): BicepFile => {
    const resolved = path.resolve(file);
    let parsed = cache.get(resolved);
    if (!parsed) {
      parsed = parseBicep(fs.readFileSync(resolved, 'utf8'), path.relative(process.cwd(), resolved));
      cache.set(resolved, parsed);
    }
    return parsed;
  };
  const problems: string[] = [];
  const seen = new Set<string>();
  const visit = (file: string): void => {
    const resolved = path.resolve(file);
    if (seen.has(resolved)) return;
    seen.add(resolved);
    const parsed = load(resolved);
    problems.push(...checkBicepFile(parsed), ...checkModuleCalls(parsed, load));
    for (const m of parsed.modules) {
      const target = path.resolve(path.dirname(resolved), m.path);
      if (m.path && fs.existsSync(target)) visit(target);
    }
  };
  visit(mainFile);
  if (parametersFile) problems.push(...checkParametersFile(parametersFile, load(mainFile)));
  return { problems, files: [...seen] };
}

// ── app settings ───────────────────────────────────────────────────────────────────────────────

export interface AppSettingsFound {
  names: string[];
  /** Places the names could not be read statically (a computed object, an interpolated name). */
  problems: string[];
}

/**
 * The app settings a template sets: keys of `properties` of `Microsoft.Web/sites/config` resources
 * named 'appsettings', and `name`s in `appSettings: [ … ]` arrays (siteConfig).
 */
export function bicepAppSettings(parsed: BicepFile): AppSettingsFound {
  const { tokens } = parsed;
  const names: string[] = [];
  const problems: string[] = [...parsed.problems];
  const read = (token: Token): void => {
    if (token.kind === 'string' && token.interpolated) {
      problems.push(`${parsed.file}:${token.line}: app setting name '${token.text}' is computed`);
    } else {
      names.push(token.text);
    }
  };
  for (const r of parsed.resources) {
    if (!/^Microsoft\.Web\/sites\/config@/i.test(r.type)) continue;
    const open = bodyOpen(tokens, r.start, r.end);
    if (open === undefined) continue;
    const nameKey = objectKeys(tokens, open).find((k) => k.key === 'name');
    const value = nameKey && tokens[nameKey.index + 2];
    if (value?.kind !== 'string' || value.text.toLowerCase() !== 'appsettings') continue;
    const props = objectValue(tokens, open, 'properties');
    if (props === undefined) {
      problems.push(`${parsed.file}:${r.line}: '${r.name}' properties is not an object literal`);
      continue;
    }
    for (const key of objectKeys(tokens, props)) read(tokens[key.index]!);
  }
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind !== 'ident' || t.text !== 'appSettings' || !isObjectKey(tokens, k)) continue;
    const open = tokens[k + 2];
    if (open?.text !== '[') {
      problems.push(`${parsed.file}:${t.line}: appSettings is not an array literal`);
      continue;
    }
    const close = matching(tokens, k + 2);
    for (let j = k + 3; j < close; j++) {
      const item = tokens[j]!;
      if (item.text !== '{' || item.depth !== open.depth + 1) continue;
      const nameKey = objectKeys(tokens, j).find((x) => x.key === 'name');
      const value = nameKey && tokens[nameKey.index + 2];
      if (value?.kind === 'string') read(value);
      else problems.push(`${parsed.file}:${item.line}: an appSettings entry has no literal name`);
    }
  }
  return { names, problems };
}
