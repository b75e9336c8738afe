/**
 * tidemark's app settings, validated once. In Azure they are the function app's settings; locally
 * they come from local.settings.json through the local host. Every setting the code reads is here.
 */
import { z } from 'zod';

import { TidemarkError } from './errors';

const schema = z.object({
  TIDEMARK_SOURCE_REGION: z.string().min(1).default('eastus'),
  TIDEMARK_TARGET_REGION: z.string().min(1).default('westus'),
  /** Connection string of the source region's storage (cache account; locally also the source disks). */
  TIDEMARK_SOURCE_STORAGE: z.string().min(1).optional(),
  /** Connection string of the target region's storage; defaults to AzureWebJobsStorage. */
  TIDEMARK_TARGET_STORAGE: z.string().min(1).optional(),
  AzureWebJobsStorage: z.string().min(1).optional(),
  /** Heartbeat interval (ms) handed to agents in their config; the agent's default is 30 s. */
  TIDEMARK_AGENT_HEARTBEAT_MS: z.coerce.number().int().min(100).max(3_600_000).optional(),
  /** Which fabric VMs, networks and disks live in: the local table-backed one, or Azure Resource Manager. */
  TIDEMARK_FABRIC: z.enum(['local', 'arm']).default('local'),
  /** The subscription the ARM fabric works in (required when TIDEMARK_FABRIC is arm). */
  AZURE_SUBSCRIPTION_ID: z.uuid().optional(),
  /** Resource Manager's endpoint (another cloud, or a test server). */
  TIDEMARK_ARM_ENDPOINT: z.url().default('https://management.azure.com'),
  /** Client id of the user-assigned managed identity the ARM fabric signs in with (else DefaultAzureCredential). */
  AZURE_CLIENT_ID: z.string().min(1).optional(),
});

export interface RegionConfig {
  name: string;
  role: 'source' | 'target';
  connectionString?: string;
}

export interface TidemarkConfig {
  source: RegionConfig;
  target: RegionConfig;
  /** What enable replication writes into every agent's config. */
  agent: { heartbeatIntervalMs?: number };
  fabric: FabricConfig;
}

export interface FabricConfig {
  kind: 'local' | 'arm';
  subscriptionId?: string;
  armEndpoint: string;
  managedIdentityClientId?: string;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): TidemarkConfig {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new TidemarkError('InvalidConfig', `tidemark's app settings are invalid: ${problems}`, {
      hint: 'See local.settings.json.example for the settings and their meaning.',
    });
  }
  const s = result.data;
  return {
    source: { name: s.TIDEMARK_SOURCE_REGION, role: 'source', connectionString: s.TIDEMARK_SOURCE_STORAGE },
    target: {
      name: s.TIDEMARK_TARGET_REGION,
      role: 'target',
      connectionString: s.TIDEMARK_TARGET_STORAGE ?? s.AzureWebJobsStorage,
    },
    agent:
      s.TIDEMARK_AGENT_HEARTBEAT_MS === undefined
        ? {}
        : { heartbeatIntervalMs: s.TIDEMARK_AGENT_HEARTBEAT_MS },
    fabric: fabricConfig(s),
  };
}

function fabricConfig(s: z.output<typeof schema>): FabricConfig {
  if (s.TIDEMARK_FABRIC === 'arm' && !s.AZURE_SUBSCRIPTION_ID) {
    throw new TidemarkError(
      'InvalidConfig',
      'TIDEMARK_FABRIC is arm, but AZURE_SUBSCRIPTION_ID is not set.',
      {
        hint: 'Set AZURE_SUBSCRIPTION_ID to the subscription whose VMs tidemark protects, or TIDEMARK_FABRIC to local.',
      },
    );
  }
  return {
    kind: s.TIDEMARK_FABRIC,
    armEndpoint: s.TIDEMARK_ARM_ENDPOINT,
    ...(s.AZURE_SUBSCRIPTION_ID ? { subscriptionId: s.AZURE_SUBSCRIPTION_ID } : {}),
    ...(s.AZURE_CLIENT_ID ? { managedIdentityClientId: s.AZURE_CLIENT_ID } : {}),
  };
}
