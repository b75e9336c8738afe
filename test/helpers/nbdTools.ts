import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Finding and running the real NBD clients the NBD tests drive. Each tool comes from a Debian
 * package; on CI (env CI set) a missing tool fails the suite, locally it skips it with a message.
 */

export const NBD_TOOL_PACKAGES = {
  'qemu-io': 'qemu-utils',
  nbdinfo: 'libnbd-bin',
  nbdcopy: 'libnbd-bin',
  fio: 'fio',
} as const;

export type NbdTool = keyof typeof NBD_TOOL_PACKAGES;

export function findTool(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export interface ToolCheck {
  /** True when the suite should be skipped (tools missing, not on CI). */
  skip: boolean;
  /** Suffix for the describe title saying why it is skipped; empty otherwise. */
  note: string;
  /** Throws on CI when a tool is missing; call it in beforeAll. */
  assertAvailable(): void;
}

export function checkTools(...tools: NbdTool[]): ToolCheck {
  const missing = tools.filter((tool) => !findTool(tool));
  const packages = [...new Set(missing.map((tool) => NBD_TOOL_PACKAGES[tool]))];
  const message =
    missing.length === 0 ? '' : `missing ${missing.join(', ')}: apt-get install -y ${packages.join(' ')}`;
  const onCi = Boolean(process.env.CI);
  return {
    skip: missing.length > 0 && !onCi,
    note: missing.length > 0 && !onCi ? ` (skipped: ${message})` : '',
    assertAvailable: () => {
      if (missing.length > 0) throw new Error(`NBD client tools required on CI: ${message}`);
    },
  };
}

/** True when fio was built with its libnbd engine. */
export async function fioHasNbdEngine(): Promise<boolean> {
  if (!findTool('fio')) return false;
  const result = await runTool('fio', ['--enghelp']);
  return /^\s*nbd\s*$/m.test(result.stdout);
}

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a tool asynchronously; the NBD server under test lives in this process, so a synchronous
 * spawn would deadlock it.
 */
export function runTool(
  tool: string,
  args: string[],
  options: { timeoutMs?: number } = {},
): Promise<ToolResult> {
  return new Promise<ToolResult>((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Like runTool, but rejects with the output when the tool exits non-zero. */
export async function runToolOk(
  tool: string,
  args: string[],
  options: { timeoutMs?: number } = {},
): Promise<string> {
  const result = await runTool(tool, args, options);
  if (result.code !== 0) {
    throw new Error(`${tool} ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

export function nbdUri(port: number, exportName = ''): string {
  return `nbd://127.0.0.1:${port}/${encodeURIComponent(exportName)}`;
}

/**
 * Runs `qemu-io -f raw` on an export with one `-c` per command. qemu-io's default cache mode is
 * writethrough, which sets FUA on every write; pass `cache: 'writeback'` to see only explicit FUA.
 */
export function qemuIo(
  port: number,
  exportName: string,
  commands: string[],
  options: { cache?: 'writeback' | 'writethrough' } = {},
): Promise<ToolResult> {
  const args = ['-f', 'raw', '-t', options.cache ?? 'writethrough', nbdUri(port, exportName)];
  for (const command of commands) args.push('-c', command);
  return runTool('qemu-io', args);
}
