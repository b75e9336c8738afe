/**
 * Tests that run a CLI as a child process use the compiled dist/ (`npm test` builds it first). When
 * dist/ is older than the sources (a run of one test file), it is rebuilt here.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** Makes sure `cli` (a path in dist/) is at least as new as every .ts file under `sourceDirs` (repo-relative). */
export function ensureBuilt(cli: string, sourceDirs: string[]): void {
  const sources = Math.max(...sourceDirs.map((dir) => newestSource(path.join(REPO, dir))));
  if (fs.existsSync(cli) && fs.statSync(cli).mtimeMs >= sources) return;
  try {
    const tsc = path.join(REPO, 'node_modules/typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: REPO, stdio: 'pipe' });
  } catch {
    // tsc still emits when files elsewhere have type errors; the check below decides.
  }
  if (!fs.existsSync(cli) || fs.statSync(cli).mtimeMs < sources) {
    throw new Error(`Building ${path.relative(REPO, cli)} failed.`);
  }
}
