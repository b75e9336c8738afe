/**
 * IPv4 addressing as an Azure virtual network does it: CIDR prefixes in canonical form, subnets
 * inside the VNet's address space and apart from each other, and private IPs allocated in a subnet
 * without Azure's five reserved addresses (the network address, .1 for the gateway, .2 and .3 for
 * DNS, and the broadcast address). Addresses are handled as unsigned 32-bit numbers.
 */
import { TidemarkError } from '../errors';

export interface Cidr {
  /** The network address. */
  network: number;
  prefix: number;
  /** How many addresses, 2^(32 − prefix). */
  size: number;
  /** Canonical text, e.g. `10.1.0.0/16`. */
  text: string;
}

/** Azure refuses these in address spaces (VNet FAQ): loopback, link-local, multicast, broadcast. */
const AZURE_FORBIDDEN = ['127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4', '255.255.255.255/32'];
/** Azure's bounds for IPv4 subnets: the smallest is a /29, the largest a /2. */
export const MIN_PREFIX = 2;
export const MAX_PREFIX = 29;
/** Addresses Azure keeps in every subnet: the first four and the last. */
export const RESERVED_AT_START = 4;
export const RESERVED_AT_END = 1;

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** A dotted-quad IPv4 address as a number, or undefined (no leading zeros, each octet 0–255). */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function makeCidr(network: number, prefix: number): Cidr {
  return { network, prefix, size: 2 ** (32 - prefix), text: `${formatIpv4(network)}/${prefix}` };
}

/** Why `text` is not a canonical IPv4 CIDR, or undefined. */
export function cidrProblem(text: string): string | undefined {
  const match = /^([^/]+)\/(0|[1-9][0-9]?)$/.exec(text);
  const address = match ? parseIpv4(match[1]!) : undefined;
  const prefix = match ? Number(match[2]) : NaN;
  if (address === undefined || !(prefix <= 32)) return 'is not IPv4 CIDR notation such as 10.0.0.0/16';
  const size = 2 ** (32 - prefix);
  if (address % size !== 0) {
    return `has host bits set; the network is ${makeCidr(address - (address % size), prefix).text}`;
  }
  return undefined;
}

/** Parses a canonical IPv4 CIDR; InvalidArgument naming `what` otherwise. */
export function parseCidr(text: string, what = 'Address prefix'): Cidr {
  const problem = cidrProblem(text);
  if (problem) {
    throw new TidemarkError('InvalidArgument', `${what} ${JSON.stringify(text)} ${problem}.`, {
      details: { cidr: text },
    });
  }
  const [address, prefix] = text.split('/') as [string, string];
  return makeCidr(parseIpv4(address)!, Number(prefix));
}

export function lastAddress(cidr: Cidr): number {
  return cidr.network + cidr.size - 1;
}

export function containsIp(cidr: Cidr, ip: number): boolean {
  return ip >= cidr.network && ip <= lastAddress(cidr);
}

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return inner.network >= outer.network && lastAddress(inner) <= lastAddress(outer);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.network <= lastAddress(b) && b.network <= lastAddress(a);
}

function invalid(message: string, details: Record<string, unknown>): TidemarkError {
  return new TidemarkError('InvalidArgument', message, { details });
}

function checkPrefixLength(cidr: Cidr, what: string): void {
  if (cidr.prefix < MIN_PREFIX || cidr.prefix > MAX_PREFIX) {
    throw invalid(
      `${what} ${cidr.text} is a /${cidr.prefix}; Azure accepts /${MIN_PREFIX} to /${MAX_PREFIX}.`,
      { cidr: cidr.text },
    );
  }
}

/** Validates a VNet's address space: canonical CIDRs, /2–/29, apart from each other and Azure's forbidden ranges. */
export function checkAddressSpace(prefixes: readonly string[]): Cidr[] {
  if (prefixes.length === 0) throw invalid('A virtual network needs at least one address space.', {});
  const spaces = prefixes.map((p) => parseCidr(p, 'Address space'));
  for (const [i, space] of spaces.entries()) {
    checkPrefixLength(space, 'Address space');
    for (const forbidden of AZURE_FORBIDDEN.map((f) => parseCidr(f))) {
      if (cidrsOverlap(space, forbidden)) {
        throw invalid(`Address space ${space.text} overlaps ${forbidden.text}, which Azure reserves.`, {
          cidr: space.text,
        });
      }
    }
    const other = spaces.slice(0, i).find((s) => cidrsOverlap(s, space));
    if (other) {
      throw invalid(`Address spaces ${other.text} and ${space.text} overlap.`, { cidr: space.text });
    }
  }
  return spaces;
}

/**
 * Validates subnets against the VNet's address space: each a canonical /2–/29 inside one address
 * space, none overlapping another, names unique (case-insensitively, as Azure compares them).
 */
export function checkSubnets(
  addressSpace: readonly Cidr[],
  subnets: readonly { name: string; addressPrefix: string }[],
): Cidr[] {
  const seen = new Map<string, string>();
  const out: Cidr[] = [];
  for (const subnet of subnets) {
    const key = subnet.name.toLowerCase();
    if (seen.has(key))
      throw invalid(`Two subnets are called ${JSON.stringify(subnet.name)}.`, { subnet: subnet.name });
    seen.set(key, subnet.name);
    const cidr = parseCidr(subnet.addressPrefix, `Subnet ${subnet.name}: address prefix`);
    checkPrefixLength(cidr, `Subnet ${subnet.name}: address prefix`);
    if (!addressSpace.some((space) => cidrContains(space, cidr))) {
      throw invalid(
        `Subnet ${subnet.name} (${cidr.text}) is not inside the address space (${addressSpace.map((s) => s.text).join(', ')}).`,
        { subnet: subnet.name, cidr: cidr.text },
      );
    }
    const clash = out.findIndex((other) => cidrsOverlap(other, cidr));
    if (clash >= 0) {
      throw invalid(
        `Subnet ${subnet.name} (${cidr.text}) overlaps subnet ${subnets[clash]!.name} (${out[clash]!.text}).`,
        { subnet: subnet.name, cidr: cidr.text },
      );
    }
    out.push(cidr);
  }
  return out;
}

/** The addresses a NIC may get in `subnet`: all but Azure's reserved first four and last. */
export function usableRange(subnet: Cidr): { first: number; last: number } {
  return { first: subnet.network + RESERVED_AT_START, last: lastAddress(subnet) - RESERVED_AT_END };
}

/** Why `ip` cannot be given to a NIC in `subnet` (given the addresses already `used`), or undefined. */
export function ipProblem(subnet: Cidr, ip: string, used: ReadonlySet<string>): string | undefined {
  const value = parseIpv4(ip);
  if (value === undefined) return `${JSON.stringify(ip)} is not an IPv4 address`;
  if (!containsIp(subnet, value)) return `${ip} is not in subnet ${subnet.text}`;
  const { first, last } = usableRange(subnet);
  if (value < first || value > last) {
    return `${ip} is reserved by Azure in ${subnet.text} (the first four addresses and the last)`;
  }
  if (used.has(formatIpv4(value))) return `${ip} is already in use`;
  return undefined;
}

export interface AllocateOptions {
  /** Taken when free (failover keeps the source VM's address when it can). */
  preferred?: string;
  /** Allocate from the end of the range (test failover does, e.g. 10.0.0.254 in a /24). */
  fromEnd?: boolean;
}

/** The next free private IP of `subnet`, or undefined when every usable address is taken. */
export function nextFreeIp(
  subnet: Cidr,
  used: ReadonlySet<string>,
  options: AllocateOptions = {},
): string | undefined {
  if (options.preferred !== undefined && ipProblem(subnet, options.preferred, used) === undefined) {
    return formatIpv4(parseIpv4(options.preferred)!);
  }
  const { first, last } = usableRange(subnet);
  const step = options.fromEnd ? -1 : 1;
  for (let ip = options.fromEnd ? last : first; ip >= first && ip <= last; ip += step) {
    const text = formatIpv4(ip);
    if (!used.has(text)) return text;
  }
  return undefined;
}

/**
 * The first block of `prefix` (or the whole space, when the space is smaller) inside the address
 * space that overlaps none of `taken`; undefined when there is none.
 */
export function nextFreeSubnet(
  addressSpace: readonly Cidr[],
  taken: readonly Cidr[],
  prefix = 24,
): Cidr | undefined {
  for (const space of addressSpace) {
    const blockPrefix = Math.max(prefix, space.prefix);
    const block = 2 ** (32 - blockPrefix);
    for (let network = space.network; network <= lastAddress(space); network += block) {
      const candidate = makeCidr(network, blockPrefix);
      if (!taken.some((t) => cidrsOverlap(t, candidate))) return candidate;
    }
  }
  return undefined;
}
