/**
 * Set-Cookie lines for the cookies of an HTTP response, formatted as ASP.NET Core's
 * `Response.Cookies.Append` does for the Functions host: the value escaped as Uri.EscapeDataString,
 * `path=/` unless the cookie names one, lower-case attribute names in the same order.
 */
import type { RpcHttpCookie } from '../../core/rpcTypes';

/** RFC 3986 escaping (Uri.EscapeDataString), which also escapes ! ' ( ) *. */
function escapeData(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

// The library sends 'none' when the cookie set no SameSite, and 'explicitNone' for SameSite=None.
const SAME_SITE: Partial<Record<string, string>> = { lax: 'lax', strict: 'strict', explicitNone: 'none' };

export function serializeCookie(cookie: RpcHttpCookie): string {
  const parts = [`${cookie.name ?? ''}=${escapeData(cookie.value ?? '')}`];
  const expires = cookie.expires?.value?.seconds;
  if (expires !== undefined && expires !== null)
    parts.push(`expires=${new Date(expires * 1000).toUTCString()}`);
  const maxAge = cookie.maxAge?.value;
  if (maxAge !== undefined && maxAge !== null) parts.push(`max-age=${Math.trunc(maxAge)}`);
  if (cookie.domain?.value) parts.push(`domain=${cookie.domain.value}`);
  parts.push(`path=${cookie.path?.value || '/'}`);
  if (cookie.secure?.value) parts.push('secure');
  const sameSite = cookie.sameSite ? SAME_SITE[cookie.sameSite] : undefined;
  if (sameSite) parts.push(`samesite=${sameSite}`);
  if (cookie.httpOnly?.value) parts.push('httponly');
  return parts.join('; ');
}
