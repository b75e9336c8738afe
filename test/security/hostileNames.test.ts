/**
 * Hostile names beyond the HTTP routes (the routes' own checks are the API contract tests'): path
 * traversal, encoded separators, look-alike letters, control characters and absurd lengths given to
 * every library entry point that turns a name into a blob name, a table key or a CLI request. Each is
 * refused up front with a user TidemarkError saying what is wrong, and nothing reaches storage.
 */
import path from 'node:path';

import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { TableClient } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';

import { parseVmRef } from '../../cli/args';
import { CliError, EXIT } from '../../cli/errors';
import {
  agentConfigBlobName,
  agentStatusBlobName,
  retiredGenerationBlobName,
} from '../../shared/agentConfig';
import { loadConfig } from '../../shared/config';
import { deltaBlobName, deltaBlobPrefix, parseDeltaBlobName } from '../../shared/delta';
import { vmIdProblem } from '../../shared/delta/vmId';
import { checkName, type FabricNameKind, NAME_RULES, nameMessage } from '../../shared/fabric/names';
import { fabricServices } from '../../shared/fabric/services';
import { CONTAINERS, TABLES } from '../../shared/storageNames';
import { createVmDisk, vmDiskPrefix } from '../../shared/vmDisks';
import { useAzurite } from '../helpers/azurite';
import { ensureBuilt, REPO } from '../helpers/builtCli';
import { runCli } from '../helpers/cliProcess';
import { expectUserError, HOSTILE_NAMES } from './support';

const KINDS = Object.keys(NAME_RULES) as FabricNameKind[];

describe('hostile names', () => {
  describe('fabric names (Azure naming rules)', () => {
    for (const [label, name] of HOSTILE_NAMES) {
      it(`refuses a ${label} name for every kind of resource`, async () => {
        for (const kind of KINDS) {
          const err = await expectUserError(() => checkName(kind, name), /^InvalidArgument$/);
          expect(err.message, `${kind}: ${err.message}`).toMatch(/is not valid: .+\. Rule: /);
          // The name is echoed for the operator, but never 10 000 characters of it.
          expect(err.message.length, kind).toBeLessThan(600);
        }
      });
    }

    it('refuses look-alikes of a resource group (mixed scripts, fullwidth letters), keeps honest Unicode', () => {
      for (const lookAlike of [
        'pr\u043ed-rg', // Cyrillic о in a Latin name
        '\u0440\u0430ypal', // Cyrillic р, а
        'g\u03bfogle', // Greek ο
        '\uff50\uff52\uff4f\uff44', // fullwidth "prod"
        'rg-\u2160', // Roman numeral one (NFKC: I)
      ]) {
        expect(nameMessage('resourceGroup', lookAlike), lookAlike).toMatch(/scripts|compatibility|contains/);
      }
      for (const honest of [
        'gruppe-\u00fc',
        '\u0440\u0435\u0441\u0443\u0440\u0441\u044b',
        '\u30ea\u30bd\u30fc\u30b9\u7fa4',
        'app-\u65e5\u672c',
        'rg_1(prod).x-y',
      ]) {
        expect(nameMessage('resourceGroup', honest), honest).toBeUndefined();
      }
    });

    it('checks a 10 000-character name in well under a millisecond per kind', () => {
      const huge = 'a'.repeat(1_000_000);
      const started = process.hrtime.bigint();
      for (const kind of KINDS) expect(nameMessage(kind, huge)).toMatch(/characters long/);
      expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(50);
    });
  });

  describe('blob names built from names', () => {
    const builders: [string, (rg: string, vm: string) => string][] = [
      ['deltaBlobName', (rg, vm) => deltaBlobName({ resourceGroup: rg, vm, generation: 1, sequence: 1 })],
      ['deltaBlobPrefix', (rg, vm) => deltaBlobPrefix({ resourceGroup: rg, vm, generation: 1 })],
      ['agentConfigBlobName', agentConfigBlobName],
      ['agentStatusBlobName', agentStatusBlobName],
      ['retiredGenerationBlobName', retiredGenerationBlobName],
      ['vmDiskPrefix', vmDiskPrefix],
    ];
    const container = new ContainerClient('http://127.0.0.1:1/devstoreaccount1/cache');

    for (const [label, name] of HOSTILE_NAMES) {
      it(`a ${label} resource group or VM either is refused or stays one literal blob-name segment`, async () => {
        const refused = vmIdProblem(`${name}/vm`) !== undefined;
        for (const [builder, build] of builders) {
          for (const [rg, vm] of [
            [name, 'vm'],
            ['rg', name],
          ] as const) {
            if (vmIdProblem(`${rg}/${vm}`) !== undefined) {
              await expectUserError(() => build(rg, vm), /^InvalidArgument$/);
              continue;
            }
            // Accepted (e.g. "a%2Fb", "a?b"): the storage URL keeps it as one segment, nothing decoded.
            const blobName = build(rg, vm);
            const url = new URL(container.getBlobClient(blobName).url);
            const segments = url.pathname.split('/').slice(3).map(decodeURIComponent);
            const what = `${builder}(${JSON.stringify(rg)}, ${JSON.stringify(vm)})`;
            expect(segments.join('/'), what).toBe(blobName);
            expect(segments[0], what).toBe(rg);
            expect(segments[1]!.startsWith(vm), what).toBe(true);
            expect(url.search).toBe('');
            expect(url.hash).toBe('');
          }
        }
        // Every name vmIdProblem accepts is still refused by the fabric, so no such VM can exist.
        if (!refused) {
          expect(
            KINDS.filter((k) => k === 'resourceGroup' || k === 'virtualMachine').map((k) =>
              nameMessage(k, name),
            ),
          ).not.toContain(undefined);
        }
      });
    }

    it('parseDeltaBlobName refuses traversal and control characters in a blob trigger name', async () => {
      for (const [, name] of HOSTILE_NAMES) {
        const blob = `${name}/vm/1/00000000000000000001.delta`;
        if (vmIdProblem(`${name}/vm`) !== undefined)
          await expectUserError(() => parseDeltaBlobName(blob), /^InvalidArgument$/);
      }
      for (const blob of [
        '../../etc/1/00000000000000000001.delta',
        'rg/vm/1/../00000000000000000001.delta',
        'rg/vm/1/00000000000000000001.delta/..',
        'rg/vm/01/00000000000000000001.delta',
        'rg/vm/1/0000000000000000001.delta',
        'rg/vm/99999999999999999999/00000000000000000001.delta',
        'rg/vm/1/00000000000000000001.delta\u0000',
        `${'a'.repeat(10_000)}/vm/1/00000000000000000001.delta`,
      ]) {
        await expectUserError(() => parseDeltaBlobName(blob), /^InvalidArgument$/);
      }
    });
  });

  describe('nothing reaches storage (real Azurite)', () => {
    const source = useAzurite();
    const target = useAzurite();

    async function blobCount(connectionString: string, container: string): Promise<number> {
      const client = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(container);
      if (!(await client.exists())) return 0;
      let n = 0;
      for await (const blob of client.listBlobsFlat()) if (blob.name) n++;
      return n;
    }

    async function entityCount(connectionString: string, table: string): Promise<number> {
      const client = TableClient.fromConnectionString(connectionString, table, {
        allowInsecureConnection: true,
      });
      let n = 0;
      try {
        for await (const entity of client.listEntities()) if (entity) n++;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return 0;
        throw err;
      }
      return n;
    }

    it('createVmDisk refuses hostile VM and disk names and writes no blob', async () => {
      const disks = BlobServiceClient.fromConnectionString(source().connectionString).getContainerClient(
        CONTAINERS.disks,
      );
      await disks.createIfNotExists();
      for (const [label, name] of HOSTILE_NAMES) {
        for (const [rg, vm, disk] of [
          [name, 'vm', 'os'],
          ['rg', name, 'os'],
          ['rg', 'vm', name],
        ] as const) {
          if (vmIdProblem(`${rg}/${vm}`) === undefined && vmIdProblem(`${disk}/x`) === undefined) continue;
          await expectUserError(() => createVmDisk(disks, rg, vm, disk, 0, 4096), /^InvalidArgument$/);
          expect(await blobCount(source().connectionString, CONTAINERS.disks), label).toBe(0);
        }
      }
    });

    it('the fabric refuses a VM with any hostile name in it and stores nothing', async () => {
      const services = fabricServices(
        loadConfig({
          TIDEMARK_SOURCE_REGION: 'eastus',
          TIDEMARK_TARGET_REGION: 'westus',
          TIDEMARK_SOURCE_STORAGE: source().connectionString,
          TIDEMARK_TARGET_STORAGE: target().connectionString,
        }),
      );
      const good = {
        resourceGroup: 'rg',
        name: 'vm',
        region: 'eastus',
        vnet: 'vnet',
        subnet: 'default',
        size: 'Standard_B1s',
        disks: [{ name: 'os', sizeGiB: 1 }],
      };
      for (const [label, name] of HOSTILE_NAMES) {
        for (const field of ['resourceGroup', 'name', 'vnet', 'subnet', 'availabilitySet', 'disk'] as const) {
          const input =
            field === 'disk' ? { ...good, disks: [{ name, sizeGiB: 1 }] } : { ...good, [field]: name };
          const err = await expectUserError(() => services.vms.createOrUpdateVm(input), /^InvalidArgument$/);
          expect(err.message, `${label} as ${field}`).toMatch(/not valid|UTF-8 bytes/);
        }
      }
      for (const cs of [source().connectionString, target().connectionString]) {
        expect(await entityCount(cs, TABLES.fabric)).toBe(0);
        expect(await blobCount(cs, CONTAINERS.disks)).toBe(0);
      }
    });
  });

  describe('the CLIs', () => {
    it('tidemark refuses a hostile RESOURCE_GROUP/NAME before any request', async () => {
      for (const [label, name] of HOSTILE_NAMES) {
        for (const ref of [`${name}/vm`, `rg/${name}`]) {
          let thrown: unknown;
          try {
            parseVmRef(ref);
          } catch (err) {
            thrown = err;
          }
          expect(thrown, label).toBeInstanceOf(CliError);
          expect((thrown as CliError).exitCode, label).toBe(EXIT.user);
          expect((thrown as CliError).message, label).toMatch(/is not a VM/);
        }
      }
      // The built CLI: exit 1 (a user error), not 2 (the host, which does not exist, was never asked).
      const cli = path.join(REPO, 'dist/cli/tidemark.js');
      ensureBuilt(cli, ['cli', 'shared']);
      for (const ref of ['../etc', 'rg/..', 'rg/a%2Fb', `rg/vm-\u0430pp`]) {
        const run = runCli(cli, ['vm', 'show', ref], {
          TIDEMARK_URL: 'http://127.0.0.1:1',
          TIDEMARK_KEY: 'k',
        });
        expect(await run.exit, `${ref}: ${run.stderr()}`).toBe(1);
        expect(run.stderr()).toMatch(/is not a VM/);
      }
    }, 60_000);

    it('tidemark-agent refuses a hostile --vm before touching storage', async () => {
      const cli = path.join(REPO, 'dist/agent/cli.js');
      ensureBuilt(cli, ['agent', 'shared']);
      for (const vm of ['../etc', 'rg/..', 'rg/a\\b', `rg/${'a'.repeat(10_000)}`, 'rg', 'a/b/c']) {
        const run = runCli(cli, [
          'status',
          '--vm',
          vm,
          '--source-storage',
          'UseDevelopmentStorage=true;BlobEndpoint=http://127.0.0.1:1/x',
        ]);
        expect(await run.exit, `${vm.slice(0, 40)}: ${run.stderr().slice(0, 300)}`).toBe(1);
        expect(run.stderr()).toMatch(/--vm/);
      }
    }, 60_000);
  });
});
