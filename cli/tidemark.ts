#!/usr/bin/env node
/**
 * `tidemark`: the operator CLI, a client of tidemark's HTTP API (docs/cli.md). Exit codes: 0 done,
 * 1 user error (bad flags, 4xx), 2 system error (5xx, unreachable host), 3 the job waited on failed
 * or was cancelled; 130 when Ctrl-C stops it.
 */
import { processOutput } from './output';
import { run } from './program';

const output = processOutput();

process.once('SIGINT', () => {
  output.err('tidemark: interrupted; a job it started goes on (`tidemark job watch ID` follows it again).');
  // After the other SIGINT listeners (cli-progress restores the cursor in one).
  setImmediate(() => process.exit(130));
});

void run(process.argv, { output, env: process.env }).then(
  (code) => {
    process.exitCode = code;
    // Nothing should be left running; a kept-alive connection must not hold the exit back.
    setTimeout(() => process.exit(code), 100).unref();
  },
  () => process.exit(2),
);
