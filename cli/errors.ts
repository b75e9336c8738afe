/**
 * The CLI's errors and exit codes. Every failure ends as a CliError: what is wrong, what to do about
 * it, the exit code, and the problem+json it stands for (the API's own problem when the API answered
 * with one, else one made here in the same shape). They print in one layout:
 *
 *   error: <what is wrong>
 *     fix: <what to do>
 *       <field>: <what is wrong with it>      (for each field error)
 *
 * or, with --json, as the problem JSON on one line.
 */
import { CommanderError } from 'commander';

/** 0 ok; 1 user error (4xx, bad flags); 2 system error (5xx, unreachable host); 3 the job failed or was cancelled. */
export const EXIT = { ok: 0, user: 1, system: 2, jobFailed: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit codes as `tidemark --help` and docs/cli.md list them. */
export const EXIT_CODES_HELP = [
  'Exit codes:',
  '  0  done',
  '  1  user error: bad flags or arguments, or the API refused the request (4xx)',
  '  2  system error: the host is unreachable or failed (5xx)',
  '  3  the job waited on (--wait, job watch) failed or was cancelled',
].join('\n');

export interface FieldError {
  path: string;
  message: string;
}

/** RFC 9457 problem details: the API's, or one the CLI makes (then `status` is absent unless HTTP said it). */
export interface CliProblem {
  type: string;
  title: string;
  status?: number;
  detail: string;
  code: string;
  hint?: string;
  errors?: FieldError[];
  [key: string]: unknown;
}

export interface CliErrorOptions {
  fields?: FieldError[];
  /** The problem to print with --json; made from the rest when absent. */
  problem?: CliProblem;
  /** A code for the made problem (default by exit code: InvalidArgument, Unreachable, JobFailed). */
  code?: string;
  cause?: unknown;
}

const DEFAULT_CODES: Record<Exclude<ExitCode, 0>, string> = {
  1: 'InvalidArgument',
  2: 'Internal',
  3: 'JobFailed',
};

export class CliError extends Error {
  readonly exitCode: Exclude<ExitCode, 0>;
  readonly fix: string;
  readonly fields: FieldError[];
  readonly problem: CliProblem;

  constructor(exitCode: Exclude<ExitCode, 0>, message: string, fix: string, options: CliErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.fix = fix;
    this.fields = options.fields ?? [];
    const code = options.code ?? DEFAULT_CODES[exitCode];
    this.problem = options.problem ?? {
      type: `urn:tidemark:cli:${code}`,
      title: titleOf(code),
      detail: message,
      code,
      hint: fix,
      ...(this.fields.length > 0 ? { errors: this.fields } : {}),
    };
  }
}

function titleOf(code: string): string {
  const words = code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A bad flag or argument, refused before any request. */
export function usageError(message: string, fix: string, fields?: FieldError[]): CliError {
  return new CliError(EXIT.user, message, fix, { code: 'InvalidArgument', fields });
}

/** Commander's own parse errors (unknown option, missing argument, ...) in the CLI's layout. */
function fromCommander(err: CommanderError, commandPath: string): CliError {
  const message = err.message
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
  const help = commandPath ? `tidemark ${commandPath} --help` : 'tidemark --help';
  const sentence = message.charAt(0).toUpperCase() + message.slice(1);
  return usageError(/[.?!)]$/.test(sentence) ? sentence : `${sentence}.`, `Run \`${help}\` for usage.`);
}

/** Anything caught as a CliError: CliErrors as they are, commander's as usage errors, the rest as a bug. */
export function toCliError(err: unknown, commandPath = ''): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof CommanderError) return fromCommander(err, commandPath);
  const message = err instanceof Error ? err.message : String(err);
  return new CliError(
    EXIT.system,
    `tidemark failed unexpectedly: ${message}`,
    'This is a bug in the CLI; run the command again, and report it with the command line if it repeats.',
    { code: 'Internal', cause: err },
  );
}

/** The error as stderr shows it: the layout above, or the problem JSON with --json. */
export function formatError(err: CliError, json: boolean): string {
  if (json) return JSON.stringify(err.problem);
  const lines = [`error: ${err.message}`, `  fix: ${err.fix}`];
  for (const f of err.fields) lines.push(`    ${f.path ? `${f.path}: ` : ''}${f.message}`);
  return lines.join('\n');
}
