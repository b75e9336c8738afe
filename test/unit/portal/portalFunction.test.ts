import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { HttpRequest } from '@azure/functions';
import { describe, expect, it } from 'vitest';

import {
  CONTENT_SECURITY_POLICY,
  findPortalDir,
  listPortalFiles,
  matchesEtag,
  portal,
  resolvePortalFile,
} from '../../../functions/portal';

const REPO = path.resolve(__dirname, '..', '..', '..');

function get(pathname: string, params: Record<string, string> = {}, headers: Record<string, string> = {}) {
  return new HttpRequest({ method: 'GET', url: `http://127.0.0.1:7071${pathname}`, params, headers });
}

describe('the portal function', () => {
  it('finds portal/ above the sources and above their compiled copy', () => {
    expect(findPortalDir(path.join(REPO, 'functions'))).toBe(path.join(REPO, 'portal'));
    expect(findPortalDir(path.join(REPO, 'dist', 'functions'))).toBe(path.join(REPO, 'portal'));
    expect(findPortalDir(os.tmpdir())).toBeUndefined();
  });

  it('lists only page files: no declarations, hidden files or unknown types', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portal-'));
    fs.mkdirSync(path.join(dir, 'lib'));
    for (const f of [
      'index.html',
      'app.js',
      'styles.css',
      'lib/a.js',
      'lib/a.d.ts',
      '.secret.js',
      'notes.md',
    ])
      fs.writeFileSync(path.join(dir, f), 'x');
    const files = listPortalFiles(dir);
    expect([...files.keys()].sort()).toEqual(['app.js', 'index.html', 'lib/a.js', 'styles.css']);
    expect(files.get('lib/a.js')?.contentType).toBe('text/javascript; charset=utf-8');
    expect(resolvePortalFile(files, undefined)?.name).toBe('index.html');
    expect(resolvePortalFile(files, '')?.name).toBe('index.html');
    for (const bad of [
      '../package.json',
      'lib/../app.js',
      '/etc/passwd',
      'lib\\a.js',
      'LIB/A.JS',
      'lib/a.d.ts',
    ])
      expect(resolvePortalFile(files, bad), bad).toBeUndefined();
  });

  it('compares ETags as If-None-Match lists them', () => {
    expect(matchesEtag(null, '"a"')).toBe(false);
    expect(matchesEtag('"b", "a"', '"a"')).toBe(true);
    expect(matchesEtag('W/"a"', '"a"')).toBe(true);
    expect(matchesEtag('*', '"a"')).toBe(true);
    expect(matchesEtag('"b"', '"a"')).toBe(false);
  });

  it('serves the page with its type, caching and security headers, and 304 when unchanged', async () => {
    const page = await portal(get('/api/portal/'));
    expect(page.status).toBe(200);
    const headers = page.headers as Record<string, string>;
    expect(headers['content-type']).toBe('text/html; charset=utf-8');
    expect(headers['cache-control']).toBe('no-cache');
    expect(headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(String(page.body)).toContain('<title>tidemark');
    const again = await portal(get('/api/portal/', {}, { 'if-none-match': headers.etag ?? '' }));
    expect(again.status).toBe(304);
    expect(again.body).toBeUndefined();

    const script = await portal(get('/api/portal/lib/format.js', { path: 'lib/format.js' }));
    expect(script.status).toBe(200);
    expect((script.headers as Record<string, string>)['content-type']).toBe('text/javascript; charset=utf-8');
  });

  it('redirects /api/portal to /api/portal/ and answers 404 for any other file', async () => {
    const redirect = await portal(get('/api/portal'));
    expect(redirect.status).toBe(308);
    expect((redirect.headers as Record<string, string>).location).toBe('portal/');
    for (const p of ['../host.json', '../../package.json', 'lib/format.d.ts', 'nope.js', 'lib'])
      expect((await portal(get(`/api/portal/${p}`, { path: p }))).status, p).toBe(404);
  });
});
