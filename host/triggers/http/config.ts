/**
 * host.json `extensions.http`, with Azure's defaults. Keys are matched case-insensitively, as the
 * host's configuration binding does; unknown keys are reported, not fatal, so an app that deploys
 * to Azure still starts here.
 */
import { z } from 'zod';

import type { Logger } from '../../../shared/logger';
import { extensionSection, type HostJson } from '../../hostJson';

const limit = z.number().int().min(-1);

/** Azure's default request body limit (Kestrel's, as the Functions host sets it): 100 MB. */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024;

const httpSchema = z.strictObject({
  routePrefix: z
    .string()
    .default('api')
    .transform((p) => p.trim().replace(/^\/+|\/+$/g, '')),
  maxConcurrentRequests: limit.default(-1),
  maxOutstandingRequests: limit.default(-1),
  dynamicThrottlesEnabled: z.boolean().default(false),
  customHeaders: z
    .record(z.string(), z.string())
    .default({})
    // Header names are case-insensitive; lower-case lets a function's own header replace one.
    .transform((h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]))),
  hsts: z.record(z.string(), z.unknown()).optional(),
  /**
   * The largest request body in bytes (a local-host key; Azure's equivalent is the app setting
   * FUNCTIONS_REQUEST_BODY_SIZE_LIMIT). A larger body is refused with 413 before it is stored.
   */
  maxRequestBodySize: z
    .number()
    .int()
    .min(1)
    .max(2 ** 31 - 1)
    .default(DEFAULT_MAX_REQUEST_BODY_BYTES),
});

export type HttpOptions = z.infer<typeof httpSchema>;

const KNOWN = Object.keys(httpSchema.shape);

export function loadHttpOptions(hostJson: HostJson, logger: Logger): HttpOptions {
  const raw = hostJson.extensions?.http;
  if (raw === undefined || raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return extensionSection(hostJson, 'http', httpSchema);
  }
  const section: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const known = KNOWN.find((k) => k.toLowerCase() === key.toLowerCase());
    if (known) section[known] = value;
    else logger.warn(`host.json extensions.http.${key} is not a setting the local host knows; ignored.`);
  }
  return extensionSection(
    { ...hostJson, extensions: { ...hostJson.extensions, http: section } },
    'http',
    httpSchema,
  );
}
