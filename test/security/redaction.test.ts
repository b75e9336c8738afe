/**
 * The loggers' redaction (shared/logger.ts): what each kind of secret looks like after it, through
 * every Logger implementation (RecordingLogger, pino JSON lines, context.log) and the CLI's stderr.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';

import { recordingOutput } from '../../cli/output';
import { contextLogger } from '../../shared/functionsLogger';
import {
  type Logger,
  RecordingLogger,
  REDACTED,
  redactFields,
  redactMessage,
  registerSecret,
} from '../../shared/logger';
import { createPinoLogger } from '../../shared/pinoLogger';
import { DEVSTORE_ACCOUNT_KEY, findSecrets } from './support';

const SIG = 'Zm9vYmFyYmF6cXV4%2BcXV1eA%3D%3D';
const SAS_URL = `https://acct.blob.core.windows.net/cache?sv=2025-01-05&se=2026-02-01T00%3A00%3A00Z&sr=c&sp=cw&sig=${SIG}`;
const FUNCTION_KEY = 'fk_0123456789abcdefghijABCDEFGHIJ-_xyz';
const CONNECTION_STRING = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${DEVSTORE_ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;`;

/** Hostile log calls: every way a secret may reach a logger. */
function logEverything(logger: Logger): void {
  logger.info(`Uploading to ${SAS_URL}`);
  logger.warn('Request failed', {
    url: `http://127.0.0.1:7071/api/alerts?code=${FUNCTION_KEY}&secret=s3cr3t-value-123`,
  });
  logger.error('Storage unreachable', { connection: CONNECTION_STRING });
  logger.info('headers', {
    headers: { 'x-functions-key': FUNCTION_KEY, 'content-type': 'application/json' },
  });
  logger.info(`raw header line x-functions-key: ${FUNCTION_KEY}`);
  logger.info('auth', { authorization: `SharedKey devstoreaccount1:${SIG}` });
  logger.info('nested', {
    a: [{ b: { sasUrl: SAS_URL } }],
    sourceConnectionString: 'UseDevelopmentStorage=true',
  });
  const err = Object.assign(new Error(`PUT ${SAS_URL} failed`), { request: { url: SAS_URL } });
  logger.error('Upload failed', { err });
  logger.child({ cacheUrl: SAS_URL }).info('child bindings');
  logger.info('a URL object', { url: new URL(SAS_URL) });
  logger.info(`encoded inside a URL: https://x.test/?next=${encodeURIComponent(SAS_URL)}`);
  logger.info('alert', { secret: 'any-alert-secret-at-all' });
}

const SECRETS = {
  'the function key': FUNCTION_KEY,
  'the SAS signature': SIG,
  'the alert secret': 's3cr3t-value-123',
};

describe('log redaction', () => {
  it('redacts SAS signatures, ?code= and ?secret=, AccountKey, key headers and secret-named fields', () => {
    expect(redactMessage(SAS_URL)).toBe(SAS_URL.replace(SIG, REDACTED));
    expect(redactMessage(`GET /api/alerts?code=${FUNCTION_KEY}&dryRun=true`)).toBe(
      `GET /api/alerts?code=${REDACTED}&dryRun=true`,
    );
    expect(redactMessage(CONNECTION_STRING)).toContain(`AccountKey=${REDACTED};BlobEndpoint=`);
    expect(redactMessage(`SharedAccessSignature=sv=1&sig=${SIG};BlobEndpoint=x`)).toBe(
      `SharedAccessSignature=${REDACTED};BlobEndpoint=x`,
    );
    expect(redactMessage(`{"x-functions-key":"${FUNCTION_KEY}"}`)).toBe(`{"x-functions-key":"${REDACTED}"}`);
    expect(redactMessage(`Authorization: Bearer eyJabc.def`)).toBe(`Authorization: ${REDACTED}`);
    expect(redactFields({ password: 'hunter22', masterKey: 'x'.repeat(40), code: 'BlobNotFound' })).toEqual({
      password: REDACTED,
      masterKey: REDACTED,
      code: 'BlobNotFound',
    });
  });

  it('leaves ordinary text and fields alone, by identity', () => {
    const fields = {
      vm: 'rg/vm',
      code: 'DeltaBadChecksum',
      sequence: 4,
      nested: { exitCode: 1 },
      list: [1, 'a'],
    };
    expect(redactFields(fields)).toBe(fields);
    for (const text of [
      'exit code 2',
      'the secret sauce is none',
      'Delta rg/vm/1/00000000000000000001.delta',
    ])
      expect(redactMessage(text)).toBe(text);
  });

  it('survives cycles, deep nesting and odd values', () => {
    const cyclic: Record<string, unknown> = { url: SAS_URL };
    cyclic.self = cyclic;
    const deep = JSON.parse('['.repeat(50) + ']'.repeat(50)) as unknown;
    const deepSecret = JSON.parse(`${'{"a":'.repeat(20)}"${SAS_URL}"${'}'.repeat(20)}`) as unknown;
    const out = redactFields({ cyclic, deep, deepSecret });
    expect(JSON.stringify(out)).not.toContain(SIG);
    expect((out.cyclic as Record<string, unknown>).self).toBe('[Circular]');
    expect(out.deep).toBe(deep);
    expect(redactFields({ n: null, u: undefined, b: Buffer.from('sig=abc'), d: new Date(0) })).toMatchObject({
      n: null,
    });
  });

  it('redacts a value registered as a secret wherever it appears', () => {
    const key = `registered-${Date.now()}-key`;
    registerSecret(key);
    registerSecret('short'); // too short to be treated as a secret
    expect(redactMessage(`the key is ${key}, encoded ${encodeURIComponent(key)}`)).toBe(
      `the key is ${REDACTED}, encoded ${REDACTED}`,
    );
    expect(redactMessage('a short word')).toBe('a short word');
  });

  it('RecordingLogger records no secret', () => {
    const logger = new RecordingLogger();
    logEverything(logger);
    const texts = logger.records.map((r, i) => [`record ${i}`, JSON.stringify(r)] as const);
    expect(findSecrets(texts, SECRETS)).toEqual([]);
    expect(logger.records).toHaveLength(12);
  });

  it('pino writes no secret, in JSON lines or pretty', () => {
    for (const pretty of [false, true]) {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-redact-')), 'log');
      logEverything(createPinoLogger({ level: 'trace', pretty, destination: file }));
      const text = fs.readFileSync(file, 'utf8');
      expect(text.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(12);
      expect(findSecrets([[`pino pretty=${pretty}`, text]], SECRETS)).toEqual([]);
      expect(text).toContain(REDACTED);
    }
  });

  it('context.log (Application Insights in Azure) gets no secret', () => {
    const lines: string[] = [];
    const push = (line: unknown): void => void lines.push(String(line));
    const context = { trace: push, debug: push, info: push, warn: push, error: push, log: push };
    logEverything(contextLogger(context as unknown as InvocationContext));
    expect(lines).toHaveLength(12);
    expect(
      findSecrets(
        lines.map((l, i) => [`line ${i}`, l] as const),
        SECRETS,
      ),
    ).toEqual([]);
  });

  it("the CLI's stderr is redacted", () => {
    const output = recordingOutput();
    output.err(`error: Cannot reach tidemark at http://127.0.0.1:1/?code=${FUNCTION_KEY} (bad port).`);
    expect(output.errText()).toBe(
      `error: Cannot reach tidemark at http://127.0.0.1:1/?code=${REDACTED} (bad port).`,
    );
  });
});
