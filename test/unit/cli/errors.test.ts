/**
 * The error layout and exit codes: the API client turns each kind of answer into a CliError (4xx → 1,
 * 5xx and an unreachable host → 2, 401 with a fix naming --key and TIDEMARK_KEY), and formatError
 * prints it as `error:` / `  fix:` (field errors listed) or as problem JSON.
 */
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';

import { ApiClient, type FetchLike } from '../../../cli/apiClient';
import { CliError, EXIT, formatError, toCliError, usageError } from '../../../cli/errors';

function answer(status: number, body?: unknown, headers: Record<string, string> = {}): FetchLike {
  return () =>
    Promise.resolve(
      new Response(body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body), {
        status,
        headers: {
          ...(body !== undefined && typeof body !== 'string'
            ? { 'content-type': 'application/problem+json' }
            : {}),
          ...headers,
        },
      }),
    );
}

async function failure(
  fetch: FetchLike,
  key: string | null = 'k',
  path = '/api/vms/shop-rg/web1',
): Promise<CliError> {
  const client = new ApiClient({ url: 'http://127.0.0.1:7071', fetch, ...(key ? { key } : {}) });
  try {
    await client.get(path);
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    return err as CliError;
  }
  throw new Error('no error');
}

describe('formatError', () => {
  it('prints error then fix, then field errors, and never a stack', () => {
    const e = usageError('The VM is not valid: one flag is wrong.', 'Correct it.', [
      { path: '--size', message: 'not a size' },
    ]);
    expect(formatError(e, false)).toBe(
      ['error: The VM is not valid: one flag is wrong.', '  fix: Correct it.', '    --size: not a size'].join(
        '\n',
      ),
    );
    const bug = toCliError(new TypeError('x is undefined'));
    expect(bug.exitCode).toBe(EXIT.system);
    expect(formatError(bug, false)).toMatch(
      /^error: tidemark failed unexpectedly: x is undefined\n {2}fix: /,
    );
    expect(formatError(bug, false)).not.toMatch(/at .*\.js/);
  });

  it('prints the problem JSON with --json', () => {
    const e = usageError('bad', 'do this');
    expect(JSON.parse(formatError(e, true))).toEqual({
      type: 'urn:tidemark:cli:InvalidArgument',
      title: 'Invalid argument',
      detail: 'bad',
      code: 'InvalidArgument',
      hint: 'do this',
    });
  });

  it("puts commander's parse errors in the layout with a help fix", () => {
    const e = toCliError(
      new CommanderError(
        1,
        'commander.unknownOption',
        "error: unknown option '--bogus'\n(Did you mean --region?)",
      ),
      'vm list',
    );
    expect(e.exitCode).toBe(1);
    expect(formatError(e, false)).toBe(
      "error: Unknown option '--bogus' (Did you mean --region?)\n  fix: Run `tidemark vm list --help` for usage.",
    );
  });
});

describe('ApiClient failures', () => {
  it('4xx problem: exit 1, detail as the error, hint as the fix, field errors kept', async () => {
    const problem = {
      type: 'urn:tidemark:error:InvalidRequest',
      title: 'Invalid request',
      status: 400,
      detail: 'The request body is invalid: disks[0].sizeGiB: too small.',
      code: 'InvalidRequest',
      errors: [{ path: 'disks[0].sizeGiB', message: 'too small' }],
    };
    const e = await failure(answer(400, problem));
    expect(e.exitCode).toBe(1);
    expect(e.problem).toEqual(problem);
    expect(formatError(e, false)).toBe(
      [
        'error: The request body is invalid: disks[0].sizeGiB: too small.',
        '  fix: Correct what it names and run the command again.',
        '    disks[0].sizeGiB: too small',
      ].join('\n'),
    );
    expect(JSON.parse(formatError(e, true))).toEqual(problem);
  });

  it('404 of an unknown VM points at vm list, of a job at job list; a hint wins', async () => {
    const notFound = {
      type: 't',
      title: 'Not found',
      status: 404,
      detail: 'VM shop-rg/nope does not exist.',
      code: 'NotFound',
    };
    expect((await failure(answer(404, notFound))).fix).toMatch(/tidemark vm list/);
    expect((await failure(answer(404, notFound), 'k', '/api/jobs/x')).fix).toMatch(/tidemark job list/);
    expect((await failure(answer(404, { ...notFound, hint: 'Create it.' }))).fix).toBe('Create it.');
  });

  it('409 without a hint points at the VM state', async () => {
    const e = await failure(
      answer(409, { type: 't', title: 'Conflict', status: 409, detail: 'busy', code: 'Conflict' }),
    );
    expect(e.exitCode).toBe(1);
    expect(e.fix).toMatch(/tidemark replication show shop-rg\/web1/);
  });

  it('404 without a problem is a route this host does not have', async () => {
    const e = await failure(answer(404), 'k', '/api/vms/a/b/failover');
    expect(e.exitCode).toBe(1);
    expect(e.message).toBe('The host at http://127.0.0.1:7071 has no route GET /api/vms/a/b/failover (404).');
  });

  it('401: exit 1, the fix names --key and TIDEMARK_KEY, with or without a key given', async () => {
    const missing = await failure(answer(401), null);
    expect(missing.exitCode).toBe(1);
    expect(missing.message).toMatch(/^No function key was given/);
    expect(missing.fix).toMatch(/--key.*TIDEMARK_KEY/);
    expect(missing.problem).toMatchObject({ status: 401, code: 'Unauthorized' });
    const wrong = await failure(answer(401), 'nope');
    expect(wrong.message).toMatch(/^The function key was refused/);
  });

  it('5xx: exit 2, naming the invocation to look for', async () => {
    const e = await failure(
      answer(500, {
        type: 't',
        title: 'Internal error',
        status: 500,
        detail: 'tidemark could not complete the request.',
        code: 'Internal',
        invocationId: 'inv-1',
      }),
    );
    expect(e.exitCode).toBe(2);
    expect(e.fix).toMatch(/host log \(invocation inv-1\)/);
    expect((await failure(answer(502, 'Bad gateway'))).exitCode).toBe(2);
  });

  it('an unreachable host: exit 2, the fix names --url', async () => {
    const refusedConnection: FetchLike = () =>
      Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }));
    const e = await failure(refusedConnection);
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe('Cannot reach tidemark at http://127.0.0.1:7071 (ECONNREFUSED).');
    expect(e.fix).toMatch(/--url.*TIDEMARK_URL/);
    expect(e.problem.code).toBe('Unreachable');
  });

  it('sends the key and JSON, and returns the body and Location', async () => {
    let seen: { url: string; init: RequestInit } | undefined;
    const fetch: FetchLike = (url, init) => {
      seen = { url, init };
      return Promise.resolve(
        new Response(JSON.stringify({ job: { id: 'j' } }), {
          status: 202,
          headers: { location: '/api/jobs/j' },
        }),
      );
    };
    const client = new ApiClient({ url: 'http://h:1/', key: 'secret', fetch });
    const got = await client.post('/api/vms/a/b/enable-replication', { policy: { retentionHours: 2 } });
    expect(got).toEqual({ status: 202, body: { job: { id: 'j' } }, location: '/api/jobs/j' });
    expect(seen!.url).toBe('http://h:1/api/vms/a/b/enable-replication');
    expect((seen!.init.headers as Record<string, string>)['x-functions-key']).toBe('secret');
    expect(seen!.init.body).toBe('{"policy":{"retentionHours":2}}');
  });
});
