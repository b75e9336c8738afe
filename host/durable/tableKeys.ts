/**
 * Azure Table keys cannot hold `/ \ # ?` or control characters. Instance ids are escaped with `^`
 * per character (DTFx KeySanitation style), which keeps prefixes comparable for range queries.
 */

const NAMED: Record<string, string> = { '^': '^^', '/': '^0', '\\': '^1', '#': '^2', '?': '^3' };

export function escapeKey(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0) as number;
    if (NAMED[ch]) out += NAMED[ch];
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) out += `^x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

export function unescapeKey(value: string): string {
  return value.replace(/\^(\^|[0-3]|x[0-9a-f]{2})/g, (_, code: string) => {
    if (code === '^') return '^';
    if (code.startsWith('x')) return String.fromCharCode(parseInt(code.slice(1), 16));
    return ['/', '\\', '#', '?'][Number(code)] as string;
  });
}

/** OData string literal. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** History row keys: the sequence number as 16 upper-case hex digits. */
export function sequenceRowKey(sequence: number): string {
  return sequence.toString(16).toUpperCase().padStart(16, '0');
}
