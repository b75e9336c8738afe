import { RestError } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';

import { TidemarkError } from '../../../shared/errors';
import { PROBLEM_CONTENT_TYPE, problemFor, problemResponse } from '../../../shared/http/problem';

describe('problem+json', () => {
  it.each([
    ['InvalidArgument', 400],
    ['InvalidRequest', 400],
    ['Unauthorized', 401],
    ['NotFound', 404],
    ['Conflict', 409],
    ['DeltaTruncated', 400],
    ['InvalidConfig', 500],
    ['StorageUnavailable', 503],
    ['Timeout', 503],
    ['Internal', 500],
  ] as const)('%s → %i', (code, status) => {
    expect(problemFor(new TidemarkError(code, 'x')).status).toBe(status);
  });

  it('tells a user error with its hint, fields and details', () => {
    const error = new TidemarkError('InvalidRequest', 'The request body is invalid: vnet: bad.', {
      hint: 'Fix it.',
      details: { errors: [{ path: 'vnet', message: 'bad' }], region: 'mars' },
    });
    expect(problemFor(error, { instance: '/api/vms/rg/vm', invocationId: 'abc' })).toEqual({
      type: 'urn:tidemark:error:InvalidRequest',
      title: 'Invalid request',
      status: 400,
      detail: 'The request body is invalid: vnet: bad.',
      code: 'InvalidRequest',
      instance: '/api/vms/rg/vm',
      hint: 'Fix it.',
      errors: [{ path: 'vnet', message: 'bad' }],
      details: { region: 'mars' },
    });
  });

  it('hides the internals of system errors', () => {
    const p = problemFor(new Error('secret stack detail'), { invocationId: 'inv-1' });
    expect(p).toEqual({
      type: 'urn:tidemark:error:Internal',
      title: 'Internal error',
      status: 500,
      detail: 'tidemark could not complete the request.',
      code: 'Internal',
      invocationId: 'inv-1',
    });
  });

  it('treats unreachable storage as 503', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(problemFor(refused)).toMatchObject({ status: 503, code: 'StorageUnavailable' });
    expect(problemFor(new RestError('server busy', { statusCode: 503 }))).toMatchObject({ status: 503 });
    expect(problemFor(new RestError('bad request', { statusCode: 400 }))).toMatchObject({ status: 500 });
  });

  it('answers with the problem+json content type', () => {
    const res = problemResponse(new TidemarkError('NotFound', 'No such VM.'));
    expect(res.status).toBe(404);
    expect(res.headers).toEqual({ 'content-type': PROBLEM_CONTENT_TYPE });
    expect(JSON.parse(res.body as string)).toMatchObject({ code: 'NotFound', detail: 'No such VM.' });
  });
});
