/**
 * What the security tests share: the hostile names every entry point must refuse, and a scanner that
 * finds secrets in captured log output (keys, account keys, SAS signatures, the alert secret).
 */
import { expect } from 'vitest';

import { isTidemarkError } from '../../shared/errors';

/** Azurite's well-known development account key: a real account key as far as tidemark can tell. */
export const DEVSTORE_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/**
 * Names no resource group, VM, disk or blob-name segment may have: traversal, encoded separators,
 * look-alike letters, control characters and absurd lengths. Each one is labelled for test titles.
 */
export const HOSTILE_NAMES: readonly (readonly [label: string, name: string])[] = [
  ['dot-dot', '..'],
  ['dot', '.'],
  ['traversal', '../etc'],
  ['slash', 'a/b'],
  ['backslash', 'a\\b'],
  ['encoded slash', 'a%2Fb'],
  ['encoded dot-dot', '%2e%2e'],
  ['NUL', 'a\u0000b'],
  ['newline', 'a\nb'],
  ['DEL', 'a\u007fb'],
  ['lone surrogate', 'a\ud800b'],
  ['cyrillic a homoglyph', 'vm-\u0430pp'],
  ['fullwidth slash', 'a\uff0fb'],
  ['division slash', 'a\u2215b'],
  ['right-to-left override', 'vm\u202etxt.exe'],
  ['zero-width space', 'vm\u200b1'],
  ['10k characters', 'a'.repeat(10_000)],
  ['empty', ''],
  ['query', 'a?b'],
  ['fragment', 'a#b'],
];

/** Expects `fn` to throw a TidemarkError of kind user (a 4xx), and returns it. */
export async function expectUserError(fn: () => unknown, code?: RegExp): Promise<Error> {
  let thrown: unknown;
  try {
    await fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'expected a TidemarkError').toBeDefined();
  expect(isTidemarkError(thrown), `not a TidemarkError: ${String(thrown)}`).toBe(true);
  const err = thrown as Error & { kind: string; code: string };
  expect(err.kind).toBe('user');
  if (code) expect(err.code).toMatch(code);
  return err;
}

export interface SecretFinding {
  what: string;
  where: string;
  excerpt: string;
}

/**
 * Every place in `texts` (label → captured text) that holds one of `secrets` verbatim (or URL- or
 * JSON-encoded), a SAS signature (`sig=` with a value), or a connection string's account key.
 * Redacted values (`sig=[REDACTED]`, `AccountKey=[REDACTED]`) are fine.
 */
export function findSecrets(
  texts: Iterable<readonly [where: string, text: string]>,
  secrets: Record<string, string>,
): SecretFinding[] {
  const findings: SecretFinding[] = [];
  const patterns: [string, RegExp][] = [
    ['a SAS signature', /\bsig(?:=|%3D)(?!\[REDACTED\]|%5BREDACTED%5D)[A-Za-z0-9%+/=]{8,}/i],
    ['an account key', /AccountKey=(?!\[REDACTED\])[A-Za-z0-9+/=]{8,}/i],
  ];
  const variants = Object.entries(secrets).flatMap(([what, value]) =>
    [...new Set([value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)])].map(
      (v) => [what, v] as const,
    ),
  );
  for (const [where, text] of texts) {
    for (const [what, value] of variants) {
      const at = text.indexOf(value);
      if (at >= 0) findings.push({ what, where, excerpt: excerpt(text, at) });
    }
    for (const [what, re] of patterns) {
      const m = re.exec(text);
      if (m) findings.push({ what, where, excerpt: excerpt(text, m.index) });
    }
  }
  return findings;
}

function excerpt(text: string, at: number): string {
  return text.slice(Math.max(0, at - 120), at + 120);
}
