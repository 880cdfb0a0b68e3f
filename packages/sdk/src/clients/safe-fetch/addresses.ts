/**
 * What kind of network an IP address belongs to, so a download can refuse internal targets
 * (#11 item 5). Addresses arrive canonical (from `dns.lookup` or a WHATWG-normalised URL host),
 * but IPv4 hidden inside IPv6 (mapped, NAT64, 6to4) is unwrapped and judged as the IPv4 it is.
 */
import { isIPv4, isIPv6 } from 'node:net';

/**
 * `public`: fetched when the host is allowed. `internal`: loopback, private, shared (CGNAT),
 * unique-local: only for a trusted origin (the backend's own, or an allowed host named with its
 * port). `forbidden`: link-local (cloud metadata), unspecified, multicast, reserved: never.
 */
export type AddressScope = 'public' | 'internal' | 'forbidden';

export interface AddressClass {
  scope: AddressScope;
  /** Plain words for messages: `loopback`, `private`, `link-local (cloud metadata)`... */
  kind: string;
}

const PUBLIC: AddressClass = { scope: 'public', kind: 'public' };

/** [network, prefix length, class], IPv4 as unsigned 32-bit numbers. */
const V4_RANGES: Array<[string, number, AddressClass]> = [
  ['0.0.0.0', 8, { scope: 'forbidden', kind: 'unspecified ("this network")' }],
  ['10.0.0.0', 8, { scope: 'internal', kind: 'private' }],
  ['100.64.0.0', 10, { scope: 'internal', kind: 'shared (CGNAT)' }],
  ['127.0.0.0', 8, { scope: 'internal', kind: 'loopback' }],
  ['169.254.0.0', 16, { scope: 'forbidden', kind: 'link-local (cloud metadata)' }],
  ['172.16.0.0', 12, { scope: 'internal', kind: 'private' }],
  ['192.0.0.0', 24, { scope: 'forbidden', kind: 'reserved (IETF protocol assignments)' }],
  ['192.0.2.0', 24, { scope: 'forbidden', kind: 'reserved (documentation)' }],
  ['192.88.99.0', 24, { scope: 'forbidden', kind: 'reserved (6to4 relay)' }],
  ['192.168.0.0', 16, { scope: 'internal', kind: 'private' }],
  ['198.18.0.0', 15, { scope: 'forbidden', kind: 'reserved (benchmarking)' }],
  ['198.51.100.0', 24, { scope: 'forbidden', kind: 'reserved (documentation)' }],
  ['203.0.113.0', 24, { scope: 'forbidden', kind: 'reserved (documentation)' }],
  ['224.0.0.0', 4, { scope: 'forbidden', kind: 'multicast' }],
  ['240.0.0.0', 4, { scope: 'forbidden', kind: 'reserved (incl. broadcast)' }],
];

function ipv4Number(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function inV4Range(value: number, network: string, prefix: number): boolean {
  const size = 2 ** (32 - prefix);
  const start = ipv4Number(network);
  return value >= start && value < start + size;
}

function classifyV4Number(value: number): AddressClass {
  for (const [network, prefix, cls] of V4_RANGES) if (inV4Range(value, network, prefix)) return cls;
  return PUBLIC;
}

/** The eight 16-bit words of a valid IPv6 address (zone id dropped, dotted tail converted). */
function ipv6Words(address: string): number[] {
  let text = address.replace(/%.*$/, '');
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipv4Number(dotted[2]!);
    text = `${dotted[1]}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const halves = text.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const zeros = halves.length > 1 ? 8 - head.length - tail.length : 0;
  return [...head, ...Array<string>(zeros).fill('0'), ...tail].map((w) => Number.parseInt(w, 16));
}

const v4FromWords = (high: number, low: number) => high * 65536 + low;

function classifyV6(address: string): AddressClass {
  const w = ipv6Words(address);
  const zeroUpTo = (n: number) => w.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(8)) return { scope: 'forbidden', kind: 'unspecified (::)' };
  if (zeroUpTo(7) && w[7] === 1) return { scope: 'internal', kind: 'loopback (::1)' };
  // ::ffff:a.b.c.d (mapped) and ::ffff:0:a.b.c.d (translated) reach the IPv4 address itself.
  if (zeroUpTo(5) && w[5] === 0xffff) return classifyV4Number(v4FromWords(w[6]!, w[7]!));
  if (zeroUpTo(4) && w[4] === 0xffff && w[5] === 0) return classifyV4Number(v4FromWords(w[6]!, w[7]!));
  if (zeroUpTo(6)) return { scope: 'forbidden', kind: 'reserved (IPv4-compatible IPv6)' };
  // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address through a translator.
  if (w[0] === 0x64 && w[1] === 0xff9b && w.slice(2, 6).every((x) => x === 0)) {
    return classifyV4Number(v4FromWords(w[6]!, w[7]!));
  }
  // 6to4 (2002::/16) tunnels to the IPv4 address in words 1-2.
  if (w[0] === 0x2002) return classifyV4Number(v4FromWords(w[1]!, w[2]!));
  const first = w[0]!;
  if (first >= 0xfc00 && first <= 0xfdff) return { scope: 'internal', kind: 'unique-local (fc00::/7)' };
  if (first >= 0xfe80 && first <= 0xfebf) return { scope: 'forbidden', kind: 'link-local (fe80::/10)' };
  if (first >= 0xfec0 && first <= 0xfeff) return { scope: 'internal', kind: 'site-local (fec0::/10)' };
  if (first >= 0xff00) return { scope: 'forbidden', kind: 'multicast (ff00::/8)' };
  if (first === 0x2001 && w[1] === 0) return { scope: 'forbidden', kind: 'reserved (Teredo)' };
  if (first === 0x2001 && w[1] === 0xdb8) return { scope: 'forbidden', kind: 'reserved (documentation)' };
  // Only 2000::/3 is assigned as global unicast; everything else (incl. 64:ff9b:1::/48, 100::/64) is not.
  if (first < 0x2000 || first > 0x3fff) return { scope: 'forbidden', kind: 'reserved' };
  return PUBLIC;
}

/** The class of an IP address (IPv4 dotted quad or IPv6, with or without brackets). */
export function classifyAddress(address: string): AddressClass {
  const bare = address.replace(/^\[(.*)\]$/, '$1');
  if (isIPv4(bare)) return classifyV4Number(ipv4Number(bare));
  if (isIPv6(bare)) return classifyV6(bare);
  throw new TypeError(`not an IP address: ${address}`);
}
