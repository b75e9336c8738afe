import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { loadConfig } from '../shared/config';
import { probeRegion } from '../shared/regionHealth';
import { TIDEMARK_VERSION } from '../shared/version';

/** GET /api/health: tidemark's version and which regions' storage it reaches. */
export async function health(_req: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const config = loadConfig();
  const regions = await Promise.all([probeRegion(config.source), probeRegion(config.target)]);
  const healthy = regions.every((r) => r.reachable);
  return {
    status: healthy ? 200 : 503,
    jsonBody: { status: healthy ? 'Healthy' : 'Degraded', version: TIDEMARK_VERSION, regions },
  };
}

app.http('health', { methods: ['GET'], authLevel: 'anonymous', route: 'health', handler: health });
