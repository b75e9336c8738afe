import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { isTidemarkError } from '../../../shared/errors';
import {
  checkAddressSpace,
  checkSubnets,
  cidrProblem,
  cidrsOverlap,
  formatIpv4,
  ipProblem,
  lastAddress,
  nextFreeIp,
  nextFreeSubnet,
  parseCidr,
  parseIpv4,
  usableRange,
} from '../../../shared/fabric/cidr';

function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isTidemarkError(err, 'InvalidArgument')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected InvalidArgument');
}

/** A subnet /24–/29 somewhere in 10.0.0.0/8. */
const subnetArb = fc
  .tuple(fc.integer({ min: 24, max: 29 }), fc.integer({ min: 0, max: 2 ** 24 - 1 }))
  .map(([prefix, offset]) => {
    const size = 2 ** (32 - prefix);
    const network = parseIpv4('10.0.0.0')! + (offset - (offset % size));
    return parseCidr(`${formatIpv4(network)}/${prefix}`);
  });

describe('IPv4 and CIDR', () => {
  it('parses and formats addresses', () => {
    expect(parseIpv4('10.1.2.3')).toBe(10 * 2 ** 24 + 1 * 2 ** 16 + 2 * 256 + 3);
    expect(formatIpv4(parseIpv4('255.255.255.255')!)).toBe('255.255.255.255');
    for (const bad of ['10.1.2', '10.1.2.256', '010.1.2.3', '10.1.2.3.4', 'a.b.c.d', '', '1..2.3']) {
      expect(parseIpv4(bad), bad).toBeUndefined();
    }
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => parseIpv4(formatIpv4(n)) === n));
  });

  it('accepts only canonical CIDRs', () => {
    expect(parseCidr('10.1.0.0/16')).toMatchObject({ prefix: 16, size: 65536, text: '10.1.0.0/16' });
    expect(cidrProblem('10.1.1.5/24')).toBe('has host bits set; the network is 10.1.1.0/24');
    expect(cidrProblem('10.1.1.0/33')).toMatch(/not IPv4 CIDR/);
    expect(cidrProblem('10.1.1.0')).toMatch(/not IPv4 CIDR/);
    expect(invalid(() => parseCidr('10.1.1.5/24', 'Subnet web'))).toBe(
      'Subnet web "10.1.1.5/24" has host bits set; the network is 10.1.1.0/24.',
    );
  });

  it('checks address spaces', () => {
    expect(checkAddressSpace(['10.1.0.0/16', '10.2.0.0/16']).map((c) => c.text)).toEqual([
      '10.1.0.0/16',
      '10.2.0.0/16',
    ]);
    expect(invalid(() => checkAddressSpace([]))).toMatch(/at least one/);
    expect(invalid(() => checkAddressSpace(['10.0.0.0/8', '10.1.0.0/16']))).toMatch(/overlap/);
    expect(invalid(() => checkAddressSpace(['127.0.0.0/16']))).toMatch(/reserves/);
    expect(invalid(() => checkAddressSpace(['10.0.0.0/30']))).toMatch(/\/2 to \/29/);
  });

  it('checks subnets: inside the space, apart, uniquely named', () => {
    const space = checkAddressSpace(['10.1.0.0/16']);
    const ok = [
      { name: 'web', addressPrefix: '10.1.1.0/24' },
      { name: 'db', addressPrefix: '10.1.2.0/24' },
    ];
    expect(checkSubnets(space, ok)).toHaveLength(2);
    expect(invalid(() => checkSubnets(space, [...ok, { name: 'x', addressPrefix: '10.2.0.0/24' }]))).toBe(
      'Subnet x (10.2.0.0/24) is not inside the address space (10.1.0.0/16).',
    );
    expect(invalid(() => checkSubnets(space, [...ok, { name: 'x', addressPrefix: '10.1.1.128/25' }]))).toBe(
      'Subnet x (10.1.1.128/25) overlaps subnet web (10.1.1.0/24).',
    );
    expect(
      invalid(() => checkSubnets(space, [...ok, { name: 'WEB', addressPrefix: '10.1.3.0/24' }])),
    ).toMatch(/Two subnets/);
  });

  it('never hands out Azure’s reserved addresses', () => {
    const subnet = parseCidr('10.1.1.0/24');
    expect(usableRange(subnet)).toEqual({ first: parseIpv4('10.1.1.4'), last: parseIpv4('10.1.1.254') });
    expect(nextFreeIp(subnet, new Set())).toBe('10.1.1.4');
    expect(nextFreeIp(subnet, new Set(), { fromEnd: true })).toBe('10.1.1.254');
    for (const ip of ['10.1.1.0', '10.1.1.1', '10.1.1.2', '10.1.1.3', '10.1.1.255']) {
      expect(ipProblem(subnet, ip, new Set())).toMatch(/reserved by Azure/);
    }
    expect(ipProblem(subnet, '10.1.2.4', new Set())).toMatch(/not in subnet/);
    expect(ipProblem(subnet, '10.1.1.9', new Set(['10.1.1.9']))).toMatch(/already in use/);
    expect(ipProblem(subnet, '10.1.1.9', new Set())).toBeUndefined();
  });

  it('takes a preferred address when it is free, else the next one', () => {
    const subnet = parseCidr('10.1.1.0/24');
    expect(nextFreeIp(subnet, new Set(), { preferred: '10.1.1.77' })).toBe('10.1.1.77');
    expect(nextFreeIp(subnet, new Set(['10.1.1.77']), { preferred: '10.1.1.77' })).toBe('10.1.1.4');
    expect(nextFreeIp(subnet, new Set(), { preferred: '10.1.1.1' })).toBe('10.1.1.4');
    expect(nextFreeIp(subnet, new Set(), { preferred: '10.9.9.9' })).toBe('10.1.1.4');
  });

  it('allocates every usable address once, inside the subnet, never a reserved one (property)', () => {
    fc.assert(
      fc.property(subnetArb, fc.boolean(), (subnet, fromEnd) => {
        const used = new Set<string>();
        const { first, last } = usableRange(subnet);
        for (;;) {
          const ip = nextFreeIp(subnet, used, { fromEnd });
          if (ip === undefined) break;
          const value = parseIpv4(ip)!;
          expect(used.has(ip)).toBe(false);
          expect(value).toBeGreaterThanOrEqual(first);
          expect(value).toBeLessThanOrEqual(last);
          expect(ipProblem(subnet, ip, new Set())).toBeUndefined();
          used.add(ip);
        }
        expect(used.size).toBe(subnet.size - 5);
      }),
      { numRuns: 60 },
    );
  });

  it('allocates around addresses already taken, including preferred ones (property)', () => {
    fc.assert(
      fc.property(
        subnetArb,
        fc.array(fc.integer({ min: 0, max: 1023 }), { maxLength: 40 }),
        fc.array(fc.option(fc.integer({ min: 0, max: 1023 })), { minLength: 1, maxLength: 40 }),
        (subnet, takenOffsets, preferred) => {
          const used = new Set(takenOffsets.map((o) => formatIpv4(subnet.network + (o % subnet.size))));
          const before = new Set(used);
          for (const p of preferred) {
            const wish = p === null ? undefined : formatIpv4(subnet.network + (p % subnet.size));
            const ip = nextFreeIp(subnet, used, { preferred: wish });
            if (ip === undefined) {
              const { first, last } = usableRange(subnet);
              for (let a = first; a <= last; a++) expect(used.has(formatIpv4(a))).toBe(true);
              break;
            }
            expect(ipProblem(subnet, ip, used)).toBeUndefined();
            if (wish !== undefined && ipProblem(subnet, wish, used) === undefined) expect(ip).toBe(wish);
            used.add(ip);
          }
          for (const ip of before) expect(used.has(ip)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('finds the next free /24 in an address space', () => {
    const space = [parseCidr('10.1.0.0/16')];
    const taken = [parseCidr('10.1.0.0/24'), parseCidr('10.1.1.0/25')];
    expect(nextFreeSubnet(space, taken)?.text).toBe('10.1.2.0/24');
    expect(nextFreeSubnet([parseCidr('10.1.0.0/26')], [])?.text).toBe('10.1.0.0/26');
    expect(nextFreeSubnet([parseCidr('10.1.0.0/26')], [parseCidr('10.1.0.0/28')])).toBeUndefined();
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 30 }), (blocks) => {
        const t = blocks.map((b) => parseCidr(`10.1.${b}.0/24`));
        const free = nextFreeSubnet(space, t);
        if (free === undefined) return new Set(blocks).size === 256;
        return (
          !t.some((x) => cidrsOverlap(x, free)) &&
          free.network >= space[0]!.network &&
          lastAddress(free) <= lastAddress(space[0]!)
        );
      }),
    );
  });
});
