/**
 * Azure's naming rules for the fabric's resources ("Naming rules and restrictions for Azure
 * resources", Microsoft.Resources / Microsoft.Compute / Microsoft.Network / Microsoft.Storage). Where
 * Azure's rule is a list of forbidden characters (VM names), tidemark takes the common safe subset
 * that every other rule here also accepts. A failed check says both what is wrong and the rule.
 */
import { TidemarkError } from '../errors';

export type FabricNameKind =
  | 'resourceGroup'
  | 'virtualMachine'
  | 'virtualNetwork'
  | 'subnet'
  | 'networkInterface'
  | 'availabilitySet'
  | 'disk'
  | 'storageAccount';

interface NameRule {
  label: string;
  min: number;
  max: number;
  /** One allowed character. */
  char: RegExp;
  /** Characters allowed, in words. */
  chars: string;
  first?: { ok: RegExp; words: string };
  last?: { ok: RegExp; words: string };
}

const ALNUM = /^[A-Za-z0-9]$/;
const ALNUM_OR_UNDERSCORE = /^[A-Za-z0-9_]$/;
const NETWORK_CHARS = {
  char: /^[A-Za-z0-9_.-]$/,
  chars: 'letters, digits, underscores, periods and hyphens',
};
const NETWORK_ENDS = {
  first: { ok: ALNUM, words: 'start with a letter or digit' },
  last: { ok: ALNUM_OR_UNDERSCORE, words: 'end with a letter, digit or underscore' },
};

export const NAME_RULES: Readonly<Record<FabricNameKind, NameRule>> = {
  resourceGroup: {
    label: 'Resource group name',
    min: 1,
    max: 90,
    // Azure allows Unicode letters and digits here.
    char: /^[\p{L}\p{Nd}_.()-]$/u,
    chars: 'letters, digits, underscores, periods, hyphens and parentheses',
    last: { ok: /^[^.]$/u, words: 'not end with a period' },
  },
  virtualMachine: {
    label: 'VM name',
    min: 1,
    max: 64,
    char: /^[A-Za-z0-9_.-]$/,
    chars: 'letters, digits, underscores, periods and hyphens',
    // Azure: no leading underscore; a letter or digit first also keeps `{vm}-nic` a valid NIC name.
    first: { ok: ALNUM, words: 'start with a letter or digit' },
    last: { ok: /^[^.-]$/, words: 'not end with a period or hyphen' },
  },
  virtualNetwork: { label: 'Virtual network name', min: 2, max: 64, ...NETWORK_CHARS, ...NETWORK_ENDS },
  subnet: { label: 'Subnet name', min: 1, max: 80, ...NETWORK_CHARS, ...NETWORK_ENDS },
  networkInterface: { label: 'Network interface name', min: 1, max: 80, ...NETWORK_CHARS, ...NETWORK_ENDS },
  availabilitySet: { label: 'Availability set name', min: 1, max: 80, ...NETWORK_CHARS, ...NETWORK_ENDS },
  disk: { label: 'Disk name', min: 1, max: 80, ...NETWORK_CHARS, ...NETWORK_ENDS },
  storageAccount: {
    label: 'Storage account name',
    min: 3,
    max: 24,
    char: /^[a-z0-9]$/,
    chars: 'lower-case letters and digits',
  },
};

/** The rule in words, e.g. "1–90 characters: letters, digits, …; not end with a period". */
export function describeRule(kind: FabricNameKind): string {
  const r = NAME_RULES[kind];
  const parts = [`${r.min}–${r.max} characters: ${r.chars}`];
  if (r.first) parts.push(r.first.words);
  if (r.last) parts.push(r.last.words);
  return parts.join('; ');
}

// Scripts a letter may belong to, for the look-alike check below; a letter of none counts as "other".
const SCRIPTS: readonly [string, RegExp][] = [
  ['Latin', /\p{sc=Latin}/u],
  ['Cyrillic', /\p{sc=Cyrillic}/u],
  ['Greek', /\p{sc=Greek}/u],
  ['Armenian', /\p{sc=Armenian}/u],
  ['Cherokee', /\p{sc=Cherokee}/u],
  ['Han', /\p{sc=Han}/u],
  ['Hiragana', /\p{sc=Hiragana}/u],
  ['Katakana', /\p{sc=Katakana}/u],
  ['Hangul', /\p{sc=Hangul}/u],
  ['Bopomofo', /\p{sc=Bopomofo}/u],
];
// The mixes Unicode's "highly restrictive" profile (UTS #39 §5.2) allows: how East Asian names are written.
const ALLOWED_MIXES: readonly (readonly string[])[] = [
  ['Latin', 'Han', 'Hiragana', 'Katakana'],
  ['Latin', 'Han', 'Bopomofo'],
  ['Latin', 'Han', 'Hangul'],
];

/**
 * Why a name that Azure's character rule allows (resource groups take any Unicode letter) could pass
 * for another one, or undefined. A fullwidth or other compatibility form (`ａ` for `a`) is refused,
 * and so is a name mixing scripts beyond what UTS #39's highly restrictive profile allows (`prоd` with
 * a Cyrillic `о`): either would show as a name it is not, in the portal, the CLI and logs. A name in
 * one script (`gruppe-ü`, `ресурсы`, `リソース群`) passes.
 */
function lookAlikeProblem(name: string): string | undefined {
  if (name.normalize('NFKC') !== name) {
    return 'it holds compatibility characters (such as fullwidth letters) that read as other ones';
  }
  const scripts = new Set<string>();
  for (const c of name) {
    // Letters every script shares (the Japanese long-vowel mark ー) say nothing about the mix.
    if (!/\p{L}/u.test(c) || /\p{sc=Common}|\p{sc=Inherited}/u.test(c)) continue;
    scripts.add(SCRIPTS.find(([, re]) => re.test(c))?.[0] ?? 'other');
  }
  if (scripts.size <= 1) return undefined;
  if (ALLOWED_MIXES.some((mix) => [...scripts].every((s) => mix.includes(s)))) return undefined;
  return `it mixes letters of several scripts (${[...scripts].join(', ')}), so it can pass for another name`;
}

/** What is wrong with `name` as a `kind` name, or undefined when it is valid. */
export function nameProblem(kind: FabricNameKind, name: string): string | undefined {
  const r = NAME_RULES[kind];
  // Counting code points of a huge string is wasted work: it is too long either way.
  if (name.length > r.max * 2) return `it is ${name.length} characters long`;
  const chars = [...name];
  if (chars.length < r.min || chars.length > r.max) {
    return `it is ${chars.length} character${chars.length === 1 ? '' : 's'} long`;
  }
  const bad = chars.find((c) => !r.char.test(c));
  if (bad !== undefined) return `it contains ${JSON.stringify(bad)}`;
  if (r.first && !r.first.ok.test(chars[0]!)) return `it starts with ${JSON.stringify(chars[0])}`;
  if (r.last && !r.last.ok.test(chars[chars.length - 1]!)) {
    return `it ends with ${JSON.stringify(chars[chars.length - 1])}`;
  }
  return lookAlikeProblem(name);
}

/** Echoed names are cut to this many characters: a 10 000-character name is not repeated back whole. */
const SHOWN_NAME_CHARS = 100;

function shown(name: string): string {
  return name.length > SHOWN_NAME_CHARS ? name.slice(0, SHOWN_NAME_CHARS) : name;
}

/** The full message for an invalid name, or undefined when it is valid. */
export function nameMessage(kind: FabricNameKind, name: string): string | undefined {
  const problem = nameProblem(kind, name);
  if (problem === undefined) return undefined;
  const quoted = name.length > SHOWN_NAME_CHARS ? `${JSON.stringify(shown(name))}…` : JSON.stringify(name);
  return `${NAME_RULES[kind].label} ${quoted} is not valid: ${problem}. Rule: ${describeRule(kind)}.`;
}

/** Returns `name` when valid; throws InvalidArgument saying what is wrong and the rule otherwise. */
export function checkName(kind: FabricNameKind, name: string): string {
  const message = nameMessage(kind, name);
  if (message !== undefined) {
    throw new TidemarkError('InvalidArgument', message, {
      details: { kind, name: shown(name), rule: describeRule(kind) },
    });
  }
  return name;
}

/** The key a name is stored and compared under: Azure compares resource names case-insensitively. */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

export function sameName(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && nameKey(a) === nameKey(b);
}

const VM_SIZE = /^(Standard|Basic)_[A-Za-z0-9_]{1,55}$/;

/** Returns `size` when it looks like an Azure VM size (`Standard_B2s`); InvalidArgument otherwise. */
export function checkVmSize(size: string): string {
  if (!VM_SIZE.test(size)) {
    throw new TidemarkError(
      'InvalidArgument',
      `VM size ${JSON.stringify(size)} is not valid. Rule: an Azure VM size such as Standard_B2s or Standard_D4s_v5: "Standard_" or "Basic_", then letters, digits and underscores.`,
      { details: { size } },
    );
  }
  return size;
}
