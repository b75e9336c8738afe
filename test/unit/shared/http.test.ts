/**
 * The HTTP helpers the routes share: list paging (shared/http/paging.ts), JSON bodies and their
 * Content-Type (body.ts), and problem+json that is always written, whatever the error's details hold
 * (problem.ts).
 */
import { HttpRequest } from '@azure/functions';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';

import { TidemarkError } from '../../../shared/errors';
import { isJsonContentType, readJsonBody } from '../../../shared/http/body';
import { decodeToken, encodeToken, MAX_TOP, pageLinks, pageOf, topSchema } from '../../../shared/http/paging';
import { problemResponse } from '../../../shared/http/problem';
import { caught } from '../../helpers/caught';

/** A request as the worker makes it from the host's RPC data: the body as bytes, the headers as sent. */
function post(body: string, headers: Record<string, string> = {}): HttpRequest {
  return new HttpRequest({
    method: 'POST',
    url: 'http://127.0.0.1:7071/api/vms/rg/vm/failover',
    headers,
    body: { bytes: Buffer.from(body) },
  });
}

describe('paging', () => {
  it('takes top as a plain whole number from 1 to 1000', () => {
    for (const ok of ['1', '42', '1000']) expect(topSchema.safeParse(ok).success, ok).toBe(true);
    for (const bad of ['0', '1001', '01', '+1', '1e2', '1.0', ' 1', '', '-5', String(MAX_TOP + 1)]) {
      expect(topSchema.safeParse(bad).success, bad).toBe(false);
    }
  });

  it('reads back only the tokens it made, for the cursor it expects', () => {
    const cursor = z.strictObject({ id: z.string() });
    const token = encodeToken({ id: 'a' });
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeToken(token, cursor)).toEqual({ id: 'a' });
    for (const bad of [
      '',
      '%%',
      'e30',
      encodeToken({ id: 1 }),
      encodeToken({ id: 'a', x: 1 }),
      'a'.repeat(2001),
    ]) {
      expect(decodeToken(bad, cursor), bad).toBeUndefined();
    }
    expect(
      decodeToken(Buffer.from('{"after":{"id":"a"},"x":1}').toString('base64url'), cursor),
    ).toBeUndefined();
  });

  it('pages after the cursor, and says where the next page starts only when one follows', () => {
    const items = [1, 2, 3, 4, 5];
    expect(pageOf(items, 2)).toEqual({ items: [1, 2], last: 2 });
    expect(pageOf(items, 2, (n) => n > 2)).toEqual({ items: [3, 4], last: 4 });
    expect(pageOf(items, 2, (n) => n > 3)).toEqual({ items: [4, 5], last: null });
    expect(pageOf([], 2)).toEqual({ items: [], last: null });
    expect(pageLinks('/api/jobs', { state: 'Failed', vm: 'rg/vm' }, 2, null)).toEqual({});
    expect(pageLinks('/api/jobs', { state: 'Failed', vm: 'rg/vm', other: undefined }, 2, 'tok')).toEqual({
      continuationToken: 'tok',
      nextLink: '/api/jobs?state=Failed&vm=rg%2Fvm&top=2&continuationToken=tok',
    });
  });
});

describe('JSON bodies', () => {
  const schema = z.strictObject({ shutdownSource: z.boolean().optional() });

  it('knows JSON media types', () => {
    for (const ok of ['application/json', 'Application/JSON; charset=utf-8', 'application/problem+json']) {
      expect(isJsonContentType(ok), ok).toBe(true);
    }
    for (const bad of [
      'text/plain',
      'text/json',
      'application/x-www-form-urlencoded',
      'json',
      'application/jsonp',
    ]) {
      expect(isJsonContentType(bad), bad).toBe(false);
    }
  });

  it('reads a JSON body sent as JSON or without a Content-Type', async () => {
    const body = '{"shutdownSource": false}';
    await expect(readJsonBody(post(body, { 'content-type': 'application/json' }), schema)).resolves.toEqual({
      shutdownSource: false,
    });
    await expect(readJsonBody(post(body), schema)).resolves.toEqual({ shutdownSource: false });
  });

  it('refuses a body sent as something else, even valid JSON, naming the header', async () => {
    const e = await caught(
      readJsonBody(post('{}', { 'content-type': 'application/x-www-form-urlencoded' }), schema, {
        emptyBody: {},
      }),
    );
    expect(e.code).toBe('InvalidRequest');
    expect(e.details?.errors).toEqual([{ path: '(content-type)', message: 'must be application/json' }]);
    expect(e.message).toContain('application/x-www-form-urlencoded');
  });

  it('takes an empty body as its default whatever the Content-Type says', async () => {
    await expect(
      readJsonBody(post('', { 'content-type': 'text/plain' }), schema, { emptyBody: {} }),
    ).resolves.toEqual({});
  });
});

describe('problem+json', () => {
  it('is written even when the details cannot be', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const error = new TidemarkError('InvalidRequest', 'Bad.', {
      details: { errors: [{ path: 'x', message: 'bad' }], value: deep, big: 1n },
    });
    const response = problemResponse(error);
    expect(response.status).toBe(400);
    expect(JSON.parse(String(response.body))).toMatchObject({
      status: 400,
      detail: 'Bad.',
      errors: [{ path: 'x', message: 'bad' }],
    });
    expect(JSON.parse(String(response.body))).not.toHaveProperty('details');
  });
});
