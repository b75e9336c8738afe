/**
 * The HTTP routes of an app: one per httpTrigger function under the route prefix, in the host's
 * precedence order. Startup checks mirror the Functions host: the built-in `admin` routes are
 * reserved, and two functions may not share a route for the same method.
 */
import { TidemarkError } from '../../../shared/errors';
import type { RegisteredFunction } from '../../core/coreApi';
import type { AuthLevel } from '../../keys';
import { triggerBinding } from '../../plugin';
import {
  compareRoutes,
  matchRoute,
  parseRouteTemplate,
  routeShape,
  type RouteTemplate,
} from './routeTemplate';

export interface HttpRoute {
  fn: RegisteredFunction;
  /** The function's own route (its name when it set none), without the prefix. */
  route: string;
  template: RouteTemplate;
  /** Upper-case methods; undefined means every method. */
  methods?: ReadonlySet<string>;
  authLevel: AuthLevel;
}

export interface RouteMatch {
  route: HttpRoute;
  params: Record<string, string>;
}

const AUTH_LEVELS: readonly AuthLevel[] = ['anonymous', 'function', 'admin', 'system'];

function routeFor(fn: RegisteredFunction, routePrefix: string): HttpRoute {
  const { binding } = triggerBinding(fn);
  const name = fn.metadata.name;
  const own = typeof binding.route === 'string' && binding.route.trim() ? binding.route.trim() : name;
  const route = own.replace(/^~?\/+/, '');
  if (route.toLowerCase().startsWith('admin')) {
    throw new TidemarkError(
      'InvalidConfig',
      `Function "${name}": the route "${own}" conflicts with the host's built-in admin routes.`,
      { hint: 'The Functions host reserves routes starting with "admin"; choose another route.' },
    );
  }
  const level = String(binding.authLevel ?? 'anonymous').toLowerCase() as AuthLevel;
  if (!AUTH_LEVELS.includes(level)) {
    throw new TidemarkError('InvalidConfig', `Function "${name}" has an unknown authLevel "${level}".`, {
      hint: 'Use "anonymous", "function" or "admin".',
    });
  }
  const methods = Array.isArray(binding.methods)
    ? (binding.methods as unknown[]).map((m) => String(m).toUpperCase())
    : [];
  return {
    fn,
    route,
    template: parseRouteTemplate(routePrefix ? `${routePrefix}/${route}` : route),
    methods: methods.length > 0 ? new Set(methods) : undefined,
    authLevel: level,
  };
}

function overlap(a: HttpRoute, b: HttpRoute): boolean {
  if (!a.methods || !b.methods) return true;
  for (const m of a.methods) if (b.methods.has(m)) return true;
  return false;
}

export class RouteTable {
  private constructor(readonly routes: readonly HttpRoute[]) {}

  static build(functions: readonly RegisteredFunction[], routePrefix: string): RouteTable {
    const routes = functions.map((fn) => routeFor(fn, routePrefix));
    const byShape = new Map<string, HttpRoute[]>();
    for (const r of routes) {
      const shape = routeShape(r.template);
      const same = byShape.get(shape) ?? [];
      const clash = same.find((other) => overlap(other, r));
      if (clash) {
        throw new TidemarkError(
          'InvalidConfig',
          `Function "${r.fn.metadata.name}": the route "${r.route}" conflicts with the route "${clash.route}" of function "${clash.fn.metadata.name}".`,
          { hint: 'Give one of them another route, or methods that do not overlap.' },
        );
      }
      byShape.set(shape, [...same, r]);
    }
    // Array.prototype.sort is stable, so equal routes keep registration order.
    return new RouteTable(routes.sort((a, b) => compareRoutes(a.template, b.template)));
  }

  /** The first route, in precedence order, whose template and methods accept the request. */
  match(method: string, path: readonly string[]): RouteMatch | undefined {
    const upper = method.toUpperCase();
    for (const route of this.routes) {
      if (route.methods && !route.methods.has(upper)) continue;
      const params = matchRoute(route.template, path);
      if (params) return { route, params };
    }
    return undefined;
  }
}
