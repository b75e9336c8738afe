/**
 * The `tidemark` program: noun-verb commands over the HTTP API, global --url/--key/--json, and
 * `run`, which parses, runs and turns any failure into the error layout and an exit code. Built from
 * injected dependencies so tests run it with a fake fetch and a recording output.
 */
import { Command, CommanderError, Option } from 'commander';

import { TIDEMARK_VERSION } from '../shared/version';
import { DEFAULT_URL } from './apiClient';
import { type CliDeps, contextFactory } from './commands/context';
import { registerFailover } from './commands/failover';
import { registerJob } from './commands/job';
import { registerReplication } from './commands/replication';
import { registerVm } from './commands/vm';
import { EXIT, EXIT_CODES_HELP, type ExitCode, formatError, toCliError } from './errors';

const EPILOGUE = `
Configuration:
  --url or TIDEMARK_URL   the host (default ${DEFAULT_URL})
  --key or TIDEMARK_KEY   the function key (\`npm start\` prints it as "Function key")

Errors go to stderr as
  error: <what is wrong>
    fix: <what to do>
and, with --json, as the API's problem+json.

${EXIT_CODES_HELP}

Examples:
  tidemark vm list
  tidemark vm create shop-rg/web1 --region eastus --vnet shop-vnet --subnet front \\
    --size Standard_B1s --disk os:0.25 --disk data:0.125
  tidemark replication enable shop-rg/web1 --wait
  tidemark failover test shop-rg/web1 --recovery-point latestProcessed --wait
  tidemark job watch enable-shop-rg-web1

docs/cli.md describes every command.`;

export function buildProgram(deps: CliDeps): Command {
  const program = new Command()
    .name('tidemark')
    .description(
      "tidemark's operator CLI: protect VMs, fail them over, follow the jobs (a client of the HTTP API).",
    )
    .version(TIDEMARK_VERSION, '-V, --version', 'print the version')
    .addOption(new Option('--url <url>', `the tidemark host (env TIDEMARK_URL; default ${DEFAULT_URL})`))
    .addOption(new Option('--key <key>', 'the function key (env TIDEMARK_KEY)'))
    .option('--json', "machine output: the API's JSON on stdout, errors as problem JSON on stderr")
    .addHelpText('after', EPILOGUE)
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (text) => deps.output.out(text.replace(/\n$/, '')),
      writeErr: (text) => deps.output.err(text.replace(/\n$/, '')),
      // Parse errors are printed by run() in the CLI's layout.
      outputError: () => undefined,
    });
  const context = contextFactory(deps);
  registerVm(program, context);
  registerReplication(program, context);
  registerFailover(program, context);
  registerJob(program, context);
  return program;
}

/** Whether --json was given (known before parsing, so parse errors print as JSON too). */
function wantsJson(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}

/** The subcommand path of `args` (`vm create`), for the fix of a parse error. */
function commandPath(program: Command, args: string[]): string {
  const path: string[] = [];
  let cmd: Command | undefined = program;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--url' || arg === '--key') i++;
    if (arg.startsWith('-')) continue;
    const sub: Command | undefined = cmd.commands.find((c) => c.name() === arg);
    if (!sub) break;
    path.push(arg);
    cmd = sub;
  }
  return path.join(' ');
}

/** Runs `tidemark` with process-style `argv` (node, script, args...); resolves with the exit code. */
export async function run(argv: string[], deps: CliDeps): Promise<ExitCode> {
  const program = buildProgram(deps);
  const args = argv.slice(2);
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    // --help, --version, and a bare noun (help shown on stderr) end here too.
    if (
      err instanceof CommanderError &&
      ['commander.helpDisplayed', 'commander.version'].includes(err.code)
    ) {
      return EXIT.ok;
    }
    if (err instanceof CommanderError && err.code === 'commander.help') return EXIT.user;
    const error = toCliError(err, commandPath(program, args));
    deps.output.err(formatError(error, wantsJson(args)));
    return error.exitCode;
  }
}
