/**
 * docs/settings.md's tables, generated from shared/settings.ts. `npm run settings:doc` rewrites them
 * between the `settings:begin` / `settings:end` markers; test/unit/infra/settings.test.ts fails when
 * the doc is stale.
 */
import fs from 'node:fs';
import path from 'node:path';

import {
  CONNECTION_PROPERTIES,
  type SettingDeclaration,
  type SettingName,
  SETTING_FAMILIES,
  SETTINGS,
} from '../../shared/settings';

export const BEGIN = '<!-- settings:begin (npm run settings:doc) -->';
export const END = '<!-- settings:end -->';

const READERS: Record<string, string> = {
  app: 'app',
  'functions-host': 'Functions host',
  'local-host': 'local host',
};

const AZURE: Record<string, string> = {
  bicep: '**set by infra/**',
  optional: 'optional',
  platform: 'set by Azure',
  local: 'local only',
};

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
const code = (text: string | undefined): string =>
  text === undefined ? '' : text === '' ? '(empty)' : `\`${text.replaceAll('|', '\\|')}\``;

export function settingsTables(): string {
  const rows = (Object.keys(SETTINGS) as SettingName[]).map((name) => {
    const d: SettingDeclaration = SETTINGS[name];
    const meaning = !d.connection
      ? d.description
      : d.connection.azureForm === 'identity'
        ? `${d.description} Identity-based (\`${name}__<property>\`) in Azure.`
        : `${d.description} The Functions host also takes it identity-based (\`${name}__<property>\`); the app needs the connection string.`;
    return `| \`${name}\` | ${d.readBy.map((r) => READERS[r]).join(', ')} | ${AZURE[d.azure]} | ${code(d.default)} | ${code(d.example)} | ${cell(meaning)} |`;
  });
  const families = SETTING_FAMILIES.map(
    (f) =>
      `| \`${f.name}\` | ${f.readBy.map((r) => READERS[r]).join(', ')} | ${AZURE[f.azure]} |  |  | ${cell(f.description)} |`,
  );
  return [
    BEGIN,
    '',
    '| setting | read by | in Azure | default | local.settings.json.example | meaning |',
    '| ------- | ------- | -------- | ------- | --------------------------- | ------- |',
    ...rows,
    ...families,
    '',
    `Identity-based connection properties: ${CONNECTION_PROPERTIES.map((p) => `\`__${p}\``).join(', ')}.`,
    '',
    END,
  ].join('\n');
}

/** The generated part of a doc, with table padding ignored (Prettier aligns the columns). */
export function generatedPart(doc: string): string {
  const begin = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (begin < 0 || end < begin) return '';
  return normalize(doc.slice(begin, end + END.length));
}

export function normalize(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(/-{3,}/g, '---').replace(/\s+/g, ' ').trim())
    .join('\n');
}

/** The doc with its generated part replaced. */
export function renderSettingsDoc(doc: string): string {
  const begin = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`docs/settings.md lacks the ${BEGIN} … ${END} markers`);
  return doc.slice(0, begin) + settingsTables() + doc.slice(end + END.length);
}

async function main(): Promise<void> {
  const file = process.argv[2] ?? path.join(__dirname, '..', '..', '..', 'docs', 'settings.md');
  const before = fs.readFileSync(file, 'utf8');
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(file)) ?? {};
  const after = await prettier.format(renderSettingsDoc(before), { ...options, filepath: file });
  if (after !== before) fs.writeFileSync(file, after);
  process.stdout.write(after === before ? 'docs/settings.md is up to date\n' : 'docs/settings.md updated\n');
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  });
}
