import { describe, expect, it } from 'vitest';

import { isTidemarkError } from '../../../shared/errors';
import type { RegisteredFunction } from '../../../host/core/coreApi';
import { RouteTable } from '../../../host/triggers/http/routeTable';
import {
  compareRoutes,
  matchRoute,
  parseRouteTemplate,
  routeShape,
  splitPath,
} from '../../../host/triggers/http/routeTemplate';

const match = (template: string, path: string): Record<string, string> | undefined =>
  matchRoute(parseRouteTemplate(template), splitPath(path));

function fn(name: string, route?: string, methods: string[] = ['GET', 'POST'], authLevel = 'anonymous') {
  return {
    id: name,
    callback: () => undefined,
    metadata: {
      name,
      bindings: {
        req: { type: 'httpTrigger', direction: 'in', route, methods, authLevel },
        $return: { type: 'http', direction: 'out' },
      },
    },
  } as RegisteredFunction;
}

function configError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(isTidemarkError(err, 'InvalidConfig')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected an InvalidConfig error');
}

describe('route templates', () => {
  it('matches literals case-insensitively and tolerates one trailing slash', () => {
    expect(match('api/Hello', '/API/hello')).toEqual({});
    expect(match('api/hello', '/api/hello/')).toEqual({});
    expect(match('api/hello', '/api/hello/x')).toBeUndefined();
    expect(match('api/hello', '/api')).toBeUndefined();
  });

  it('binds parameters, decoded', () => {
    expect(match('a/{x}/{y}', '/a/1/two%20words')).toEqual({ x: '1', y: 'two words' });
    expect(match('a/{x}', '/a/')).toBeUndefined();
  });

  it('handles optional parameters and defaults', () => {
    expect(match('opt/{a}/{b?}', '/opt/1')).toEqual({ a: '1' });
    expect(match('opt/{a}/{b?}', '/opt/1/2')).toEqual({ a: '1', b: '2' });
    expect(match('opt/{a}/{b?}', '/opt')).toBeUndefined();
    expect(match('p/{page:int=1}', '/p')).toEqual({ page: '1' });
    expect(match('p/{page:int=1}', '/p/7')).toEqual({ page: '7' });
    expect(match('p/{page:int=1}', '/p/x')).toBeUndefined();
  });

  it('binds catch-all parameters to the rest of the path', () => {
    expect(match('files/{*path}', '/files/a/b/c.txt')).toEqual({ path: 'a/b/c.txt' });
    expect(match('files/{**path}', '/files/a%2Fb/c')).toEqual({ path: 'a/b/c' });
    expect(match('files/{*path}', '/files')).toEqual({});
    expect(match('{*all}', '/')).toEqual({});
  });

  it('matches complex segments', () => {
    expect(match('doc/{name}.{ext}', '/doc/report.final.pdf')).toEqual({ name: 'report.final', ext: 'pdf' });
    expect(match('doc/{name}.{ext}', '/doc/report')).toBeUndefined();
    expect(match('v{major:int}/x', '/V2/x')).toEqual({ major: '2' });
  });

  it.each([
    ['{v:int}', ['0', '-12', '2147483647'], ['2147483648', '1.5', 'a']],
    ['{v:long}', ['9223372036854775807'], ['9223372036854775808']],
    ['{v:bool}', ['true', 'FALSE'], ['yes', '1']],
    ['{v:alpha}', ['abcXYZ'], ['ab1', 'a-b']],
    [
      '{v:guid}',
      [
        '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
        '3F2504E04F8911D39A0C0305E82C3301',
        '{3f2504e0-4f89-11d3-9a0c-0305e82c3301}',
      ],
      ['3f2504e0-4f89-11d3-9a0c', 'not-a-guid'],
    ],
    ['{v:decimal}', ['1.5', '-3', '.5'], ['1e3', 'x']],
    ['{v:double}', ['1e3', '-2.5'], ['e3']],
    ['{v:datetime}', ['2024-01-02', '2024-01-02T03:04:05Z'], ['notadate']],
    ['{v:length(3)}', ['abc'], ['ab', 'abcd']],
    ['{v:length(2,5)}', ['ab', 'abcde'], ['a', 'abcdef']],
    ['{v:minlength(2)}', ['ab'], ['a']],
    ['{v:maxlength(2)}', ['ab'], ['abc']],
    ['{v:min(10)}', ['10', '99'], ['9', 'x']],
    ['{v:max(10)}', ['10', '-5'], ['11']],
    ['{v:range(1,3)}', ['1', '3'], ['0', '4']],
    ['{v:regex(^[a-z]{{2}}\\d{{3}}$)}', ['ab123', 'AB123'], ['ab12', 'abc123']],
    ['{v:regex(\\d)}', ['x1y'], ['xy']],
    ['{v:int:min(5)}', ['5'], ['4', 'x']],
  ])('constraint %s', (template, good, bad) => {
    for (const v of good) expect(match(template, `/${v}`), `${template} should accept ${v}`).toEqual({ v });
    for (const v of bad) expect(match(template, `/${v}`), `${template} should refuse ${v}`).toBeUndefined();
  });

  it('refuses malformed templates with InvalidConfig', () => {
    expect(configError(() => parseRouteTemplate('a/{x'))).toMatch(/no closing/);
    expect(configError(() => parseRouteTemplate('a/x}'))).toMatch(/unmatched/);
    expect(configError(() => parseRouteTemplate('a//b'))).toMatch(/empty segment/);
    expect(configError(() => parseRouteTemplate('{*rest}/x'))).toMatch(/last segment/);
    expect(configError(() => parseRouteTemplate('{x}/{X}'))).toMatch(/twice/);
    expect(configError(() => parseRouteTemplate('{a}{b}'))).toMatch(/two parameters/);
    expect(configError(() => parseRouteTemplate('{x:nope}'))).toMatch(/unknown constraint "nope"/);
    expect(configError(() => parseRouteTemplate('{x:length(a)}'))).toMatch(/not an integer/);
    expect(configError(() => parseRouteTemplate('{x?=1}'))).toMatch(/valid parameter name|optional/);
    expect(configError(() => parseRouteTemplate('{*x?}'))).toMatch(/cannot be optional/);
  });

  it('orders literal before parameter, constrained before free, longer before shorter', () => {
    const sorted = ['{*all}', 'a/{x}', 'a/{x:int}', 'a/b', 'a/{x}/c', 'B']
      .map(parseRouteTemplate)
      .sort(compareRoutes)
      .map((t) => t.text);
    expect(sorted).toEqual(['a/b', 'a/{x:int}', 'a/{x}/c', 'a/{x}', 'B', '{*all}']);
  });

  it('gives the same shape to templates that match the same paths', () => {
    expect(routeShape(parseRouteTemplate('Items/{id:INT}'))).toBe(
      routeShape(parseRouteTemplate('items/{key:int}')),
    );
    expect(routeShape(parseRouteTemplate('items/{id}'))).not.toBe(
      routeShape(parseRouteTemplate('items/{id:int}')),
    );
  });
});

describe('route table', () => {
  it('prefixes routes, defaults the route to the function name and picks the best match', () => {
    const table = RouteTable.build(
      [
        fn('itemAny', 'items/{any}'),
        fn('itemById', 'items/{id:int}'),
        fn('special', 'items/special'),
        fn('Hello'),
      ],
      'api',
    );
    expect(table.match('GET', splitPath('/api/items/special'))?.route.fn.id).toBe('special');
    expect(table.match('GET', splitPath('/api/items/42'))?.params).toEqual({ id: '42' });
    expect(table.match('GET', splitPath('/api/items/x'))?.route.fn.id).toBe('itemAny');
    expect(table.match('get', splitPath('/api/hello'))?.route.fn.id).toBe('Hello');
    expect(table.match('GET', splitPath('/hello'))).toBeUndefined();
  });

  it('skips routes whose methods do not allow the request', () => {
    const table = RouteTable.build(
      [fn('read', 'thing/{id}', ['GET']), fn('write', 'thing/{id}', ['PUT'])],
      '',
    );
    expect(table.match('GET', splitPath('/thing/1'))?.route.fn.id).toBe('read');
    expect(table.match('PUT', splitPath('/thing/1'))?.route.fn.id).toBe('write');
    expect(table.match('DELETE', splitPath('/thing/1'))).toBeUndefined();
    expect(table.match('HEAD', splitPath('/thing/1'))).toBeUndefined();
  });

  it('treats an empty method list as every method', () => {
    const table = RouteTable.build([fn('any', 'any', [])], 'api');
    expect(table.match('OPTIONS', splitPath('/api/any'))?.route.fn.id).toBe('any');
  });

  it('refuses duplicate routes whose methods overlap', () => {
    expect(
      configError(() =>
        RouteTable.build([fn('a', 'items/{id}', ['GET', 'POST']), fn('b', 'Items/{key}', ['POST'])], 'api'),
      ),
    ).toMatch(/conflicts with the route "items\/\{id\}" of function "a"/);
    expect(configError(() => RouteTable.build([fn('dup'), fn('x', 'DUP')], 'api'))).toMatch(/conflicts/);
  });

  it('refuses routes under the reserved admin prefix and unknown auth levels', () => {
    expect(configError(() => RouteTable.build([fn('a', 'admin/things')], 'api'))).toMatch(
      /built-in admin routes/,
    );
    expect(configError(() => RouteTable.build([fn('a', 'x', ['GET'], 'root')], 'api'))).toMatch(/authLevel/);
  });
});
