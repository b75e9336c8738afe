/**
 * Loads a Functions app the way the Node worker does (src/startApp.ts, loadScriptFile.ts): the
 * entry files are package.json `main`, which may be a glob; `.mjs` files, or every file when the
 * package is `"type": "module"`, are loaded with import(), others with require.
 */
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

import fg from 'fast-glob';

import { TidemarkError } from '../../shared/errors';

interface AppPackage {
  main?: string;
  type?: string;
}

export function resolveEntryFiles(appDir: string): { files: string[]; esm: boolean } {
  const pkgPath = path.join(appDir, 'package.json');
  let pkg: AppPackage = {};
  if (fs.existsSync(pkgPath)) {
    try {
      pkg = JSON.parse(fs.readFileSync(pkgPath, 'utf8')) as AppPackage;
    } catch (err) {
      throw new TidemarkError('InvalidConfig', `${pkgPath} is not valid JSON: ${(err as Error).message}`);
    }
  }
  const main = pkg.main ?? 'index.js';
  const files = fg.isDynamicPattern(main)
    ? fg.sync(main, { cwd: appDir, absolute: true, onlyFiles: true }).sort()
    : [path.resolve(appDir, main)].filter((f) => fs.existsSync(f));
  if (files.length === 0) {
    throw new TidemarkError('InvalidConfig', `package.json "main" (${main}) matches no file in ${appDir}.`, {
      hint: 'Build the app first (npm run build), or fix "main" in package.json.',
    });
  }
  return { files, esm: pkg.type === 'module' };
}

/**
 * Forgets the app's modules and the Functions libraries that cache the core API, so a host started
 * again in the same process (tests) loads the app afresh against its own core API.
 */
export function purgeAppModules(appDir: string): void {
  const root = path.resolve(appDir) + path.sep;
  const ownModules = path.join(root, 'node_modules') + path.sep;
  const libraries = [
    `${path.sep}node_modules${path.sep}@azure${path.sep}functions${path.sep}`,
    `${path.sep}node_modules${path.sep}durable-functions${path.sep}`,
  ];
  const cache = (Module as unknown as { _cache: Record<string, unknown> })._cache;
  for (const key of Object.keys(cache)) {
    const inApp = key.startsWith(root) && !key.startsWith(ownModules);
    if (inApp || libraries.some((lib) => key.includes(lib))) delete cache[key];
  }
}

type Importer = (specifier: string) => Promise<unknown>;

// TypeScript's CommonJS output would turn import() into require(); keep a real dynamic import.
const functionImport = new Function('specifier', 'return import(specifier)') as Importer;
let vmImport: Importer | undefined;

async function dynamicImport(specifier: string): Promise<unknown> {
  try {
    return await functionImport(specifier);
  } catch (err) {
    // Inside a vm context (vitest's module runner) `new Function` has no dynamic-import callback;
    // use Node's default loader there (experimental in Node 20, so only when needed).
    if ((err as { code?: string }).code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING') throw err;
    vmImport ??= new vm.Script('(specifier) => import(specifier)', {
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    }).runInThisContext() as Importer;
    return vmImport(specifier);
  }
}

export async function loadEntryFiles(files: string[], esm: boolean): Promise<void> {
  for (const file of files) {
    try {
      if (esm || file.endsWith('.mjs')) {
        // A query string makes import() load a fresh copy when the host restarts in-process.
        await dynamicImport(`${pathToFileURL(file).href}?t=${Date.now()}`);
      } else {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(file);
      }
    } catch (err) {
      throw new TidemarkError(
        'InvalidConfig',
        `Worker was unable to load entry point "${file}": ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
}
