/**
 * Where the CLI writes: results to stdout, errors and notes to stderr. The only module that touches
 * the process's streams; everything else writes through an Output, so tests record what it printed.
 * Errors and notes are redacted as log lines are (shared/logger.ts): an error that echoes a URL
 * never shows a `code=` key or a SAS signature.
 */
import { redactMessage } from '../shared/logger';

export interface Output {
  /** Whether stdout is a terminal (progress bars then, plain lines otherwise). */
  readonly tty: boolean;
  /** stdout as a stream, for cli-progress. */
  readonly stream: NodeJS.WritableStream;
  /** One or more lines to stdout (a newline is added). */
  out(text: string): void;
  /** One or more lines to stderr (a newline is added). */
  err(text: string): void;
}

export function processOutput(): Output {
  return {
    tty: process.stdout.isTTY === true,
    stream: process.stdout,
    out: (text) => void process.stdout.write(`${text}\n`),
    err: (text) => void process.stderr.write(`${redactMessage(text)}\n`),
  };
}

export interface RecordingOutput extends Output {
  stdout: string[];
  /** What went to `stream` (progress bars). */
  streamed: string[];
  stderr: string[];
  /** stdout so far as one string. */
  text(): string;
  errText(): string;
}

/** An Output that keeps what was written (for tests); `tty` fakes a terminal with a sink stream. */
export function recordingOutput(options: { tty?: boolean } = {}): RecordingOutput {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const chunks: string[] = [];
  const stream = {
    isTTY: options.tty ?? false,
    columns: 100,
    write: (chunk: string | Uint8Array) => {
      chunks.push(String(chunk));
      return true;
    },
  };
  return {
    tty: options.tty ?? false,
    stream: stream as unknown as NodeJS.WritableStream,
    out: (text) => void stdout.push(...text.split('\n')),
    err: (text) => void stderr.push(...redactMessage(text).split('\n')),
    stdout,
    streamed: chunks,
    stderr,
    text: () => stdout.join('\n'),
    errText: () => stderr.join('\n'),
  };
}
