/**
 * The portal's modules are plain JavaScript typed with JSDoc (no build step for the page); the tests
 * and the type checker read them through the `.d.ts` files beside them. Those are what TypeScript
 * makes from the JSDoc, formatted by Prettier: this test makes them again and fails when a committed
 * one differs. `UPDATE_PORTAL_DTS=1 npx vitest run test/unit/portal/declarations.test.ts` rewrites
 * them.
 */
import fs from 'node:fs';
import path from 'node:path';

import prettier from 'prettier';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(__dirname, '..', '..', '..');
const LIB = path.join(REPO, 'portal', 'lib');
const MODULES = fs
  .readdirSync(LIB)
  .filter((f) => f.endsWith('.js'))
  .sort();

const HEADER = (file: string): string =>
  `// Generated from ${file}'s JSDoc by test/unit/portal/declarations.test.ts; do not edit.\n` +
  '// UPDATE_PORTAL_DTS=1 npx vitest run test/unit/portal/declarations.test.ts rewrites it.\n';

/** Each module's declarations as TypeScript emits them from its JSDoc, formatted like the repo. */
async function expectedDeclarations(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const options: ts.CompilerOptions = {
    allowJs: true,
    // The modules are type-checked as well, strictly, from their JSDoc.
    checkJs: true,
    strict: true,
    declaration: true,
    emitDeclarationOnly: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
    skipLibCheck: true,
    types: [],
    outDir: path.join(REPO, '.portal-dts'),
  };
  const host = ts.createCompilerHost(options);
  const emitted = new Map<string, string>();
  host.writeFile = (fileName, text) => emitted.set(path.basename(fileName), text);
  const program = ts.createProgram(
    MODULES.map((m) => path.join(LIB, m)),
    options,
    host,
  );
  const result = program.emit(undefined, undefined, undefined, true);
  const errors = ts.getPreEmitDiagnostics(program).concat(result.diagnostics);
  if (errors.length > 0) {
    throw new Error(ts.formatDiagnostics(errors, host));
  }
  const config = (await prettier.resolveConfig(path.join(LIB, 'x.d.ts'))) ?? {};
  for (const m of MODULES) {
    const dts = m.replace(/\.js$/, '.d.ts');
    const text = emitted.get(dts);
    if (text === undefined) throw new Error(`TypeScript emitted no declarations for ${m}`);
    out.set(dts, await prettier.format(HEADER(m) + text, { ...config, parser: 'typescript' }));
  }
  return out;
}

describe('portal module declarations', () => {
  it('match the JSDoc of every portal/lib module', async () => {
    const expected = await expectedDeclarations();
    const stale: string[] = [];
    for (const [name, text] of expected) {
      const file = path.join(LIB, name);
      const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
      if (current === text) continue;
      if (process.env.UPDATE_PORTAL_DTS) fs.writeFileSync(file, text);
      else stale.push(name);
    }
    expect(
      stale,
      'portal/lib/*.d.ts are stale: run UPDATE_PORTAL_DTS=1 npx vitest run test/unit/portal/declarations.test.ts',
    ).toEqual([]);
  }, 60_000);
});
