import { describe, expect, it } from 'vitest';

import { ApiError, apiBaseFor, createApi, listAll } from '../../../portal/lib/api.js';

interface Seen {
  url: string;
  init: RequestInit;
}

function fakeFetch(answer: () => Response, seen: Seen[]): typeof fetch {
  return (async (url: string | URL | Request, init?: RequestInit) => {
    seen.push({ url: String(url), init: init ?? {} });
    return answer();
  }) as typeof fetch;
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('resolved');
}

describe('portal API client', () => {
  it('finds the API beside the portal, whatever the route prefix', () => {
    expect(apiBaseFor('http://127.0.0.1:7071/api/portal/')).toBe('http://127.0.0.1:7071/api/');
    expect(apiBaseFor('http://127.0.0.1:7071/api/portal/index.html#vm=a/b')).toBe(
      'http://127.0.0.1:7071/api/',
    );
    expect(apiBaseFor('https://app.azurewebsites.net/tm/v1/portal/')).toBe(
      'https://app.azurewebsites.net/tm/v1/',
    );
    expect(apiBaseFor('https://app.azurewebsites.net/portal/')).toBe('https://app.azurewebsites.net/');
  });

  it('sends the key and JSON, and reads JSON back', async () => {
    const seen: Seen[] = [];
    const api = createApi({
      base: 'http://h/api/',
      getKey: () => 'k1',
      fetch: fakeFetch(
        () =>
          new Response('{"job":{"id":"j"}}', {
            status: 202,
            headers: { 'content-type': 'application/json' },
          }),
        seen,
      ),
    });
    await expect(api.request('POST', 'vms/rg/web1/failover', { recoveryPoint: 'latest' })).resolves.toEqual({
      job: { id: 'j' },
    });
    expect(seen[0]?.url).toBe('http://h/api/vms/rg/web1/failover');
    const headers = seen[0]?.init.headers as Record<string, string>;
    expect(headers['x-functions-key']).toBe('k1');
    expect(headers['content-type']).toBe('application/json');
    expect(seen[0]?.init.body).toBe('{"recoveryPoint":"latest"}');
  });

  it('sends no key header without a key, and no body for a GET', async () => {
    const seen: Seen[] = [];
    const api = createApi({
      base: 'http://h/api/',
      getKey: () => null,
      fetch: fakeFetch(() => new Response(null, { status: 200 }), seen),
    });
    await expect(api.request('GET', 'jobs')).resolves.toEqual({});
    const headers = seen[0]?.init.headers as Record<string, string>;
    expect(headers['x-functions-key']).toBeUndefined();
    expect(seen[0]?.init.body).toBeUndefined();
  });

  it('turns an error answer into an ApiError with the problem', async () => {
    const problem = {
      title: 'Conflict',
      status: 409,
      detail: "Can't fail over for VM rg/web1: its protected item is TestFailedOver.",
      code: 'Conflict',
      hint: 'Clean up the test failover first.',
    };
    const api = createApi({
      base: 'http://h/api/',
      getKey: () => 'k',
      fetch: fakeFetch(
        () =>
          new Response(JSON.stringify(problem), {
            status: 409,
            headers: { 'content-type': 'application/problem+json' },
          }),
        [],
      ),
    });
    const err = await rejection(api.request('POST', 'vms/rg/web1/failover', {}));
    expect(err.status).toBe(409);
    expect(err.problem).toMatchObject({ title: 'Conflict', detail: problem.detail, hint: problem.hint });
  });

  it('reports a 401 with an empty body, and a network failure as status 0', async () => {
    const unauthorized = createApi({
      base: 'http://h/api/',
      getKey: () => 'wrong',
      fetch: fakeFetch(() => new Response(null, { status: 401, statusText: 'Unauthorized' }), []),
    });
    const err = await rejection(unauthorized.request('GET', 'vms'));
    expect(err.status).toBe(401);
    expect(err.problem.title).toBe('HTTP 401 Unauthorized');

    const down = createApi({
      base: 'http://h/api/',
      getKey: () => 'k',
      fetch: (async () => {
        throw new TypeError('fetch failed');
      }) as typeof fetch,
    });
    const net = await rejection(down.request('GET', 'vms'));
    expect(net.status).toBe(0);
    expect(net.problem.detail).toBe('fetch failed');
  });

  it('listAll reads every page of a list, following nextLink from the host root', async () => {
    const seen: Seen[] = [];
    const pages: Record<string, object> = {
      'http://h/api/jobs?top=1000': {
        jobs: [{ id: 'a' }],
        continuationToken: 't',
        nextLink: '/api/jobs?top=1000&continuationToken=t',
      },
      'http://h/api/jobs?top=1000&continuationToken=t': { jobs: [{ id: 'b' }] },
    };
    const api = createApi({
      base: 'http://h/api/',
      getKey: () => 'k',
      fetch: (async (url: string | URL | Request, init?: RequestInit) => {
        seen.push({ url: String(url), init: init ?? {} });
        return new Response(JSON.stringify(pages[String(url)] ?? {}), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        });
      }) as typeof fetch,
    });
    await expect(listAll(api.request, 'jobs?top=1000', 'jobs')).resolves.toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(seen.map((s) => s.url)).toEqual(Object.keys(pages));
  });

  it('listAll stops after maxPages, and a failed page rejects', async () => {
    let calls = 0;
    const endless = async (): Promise<unknown> => {
      calls++;
      return { vms: [calls], nextLink: '/api/vms?continuationToken=again' };
    };
    await expect(listAll(endless, 'vms', 'vms', 3)).resolves.toEqual([1, 2, 3]);
    expect(calls).toBe(3);
    const failing = async (): Promise<unknown> => {
      throw new ApiError({ title: 'Unauthorized', detail: '', errors: [], status: 401 });
    };
    await expect(listAll(failing, 'vms', 'vms')).rejects.toBeInstanceOf(ApiError);
  });
});
