import { DefaultRoute, FdbEntry, NeighbourEntry, ObservedLink, VxlanAttributes } from './model';

/**
 * Parsers for the JSON that iproute2 6.1 prints (`ip -j -d`, `bridge -j`). Fields are read
 * defensively: a field iproute2 omits is a field the kernel did not report.
 */

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objects(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function parseJsonArray(text: string): Json[] {
  // iproute2 prints nothing at all (not "[]") for some empty dumps.
  return text.trim() === '' ? [] : objects(JSON.parse(text));
}

function parseVxlan(data: Json): VxlanAttributes {
  return {
    vni: num(data['id']) ?? -1,
    local: str(data['local']) ?? '',
    port: num(data['port']) ?? -1,
    underlayDevice: str(data['link']) ?? '',
    learning: data['learning'] === true,
    proxy: data['proxy'] === true,
  };
}

/** One entry of `ip -j -d link show` or `ip -j -d addr show`. */
export function parseLink(entry: Json): ObservedLink {
  const linkinfo = isObject(entry['linkinfo']) ? entry['linkinfo'] : {};
  const kind = str(linkinfo['info_kind']) ?? '';
  const infoData = isObject(linkinfo['info_data']) ? linkinfo['info_data'] : undefined;
  const peerInOtherNamespace = entry['link_netnsid'] !== undefined;
  return {
    name: str(entry['ifname']) ?? '',
    kind,
    ifindex: num(entry['ifindex']) ?? -1,
    peerIfindex: peerInOtherNamespace ? num(entry['link_index']) : undefined,
    mtu: num(entry['mtu']) ?? -1,
    up: strings(entry['flags']).includes('UP'),
    mac: (str(entry['address']) ?? '').toLowerCase(),
    master: str(entry['master']),
    isolated: isObject(linkinfo['info_slave_data']) ? linkinfo['info_slave_data']['isolated'] === true : undefined,
    alias: str(entry['ifalias']),
    vxlan: kind === 'vxlan' && infoData ? parseVxlan(infoData) : undefined,
    mode: (kind === 'macvlan' || kind === 'ipvlan') && infoData ? str(infoData['mode']) : undefined,
    addresses: objects(entry['addr_info'])
      .filter((address) => address['family'] === 'inet')
      .map((address) => `${str(address['local']) ?? ''}/${num(address['prefixlen']) ?? ''}`),
    // Not part of link/addr output; filled in from `ntable show` where it is read (sandboxes).
    arpRetransMs: undefined,
  };
}

export function parseLinks(text: string): ObservedLink[] {
  return parseJsonArray(text).map(parseLink);
}

/**
 * `ip -j ntable show`: each device's ARP retransmit interval (ms), by device name. The entry
 * without `dev` is the table's default for devices created later, not any device's own value.
 */
export function parseArpRetransByDevice(text: string): Map<string, number> {
  const byDevice = new Map<string, number>();
  for (const entry of parseJsonArray(text)) {
    const device = str(entry['dev']);
    const retrans = num(entry['retrans']);
    const isArp = entry['family'] === 'inet' && entry['name'] === 'arp_cache';
    if (isArp && device !== undefined && retrans !== undefined) byDevice.set(device, retrans);
  }
  return byDevice;
}

/** `bridge -j fdb show`: only the device's own (self) entries with a remote, not the bridge's. */
export function parseFdb(text: string): FdbEntry[] {
  return parseJsonArray(text)
    .filter((entry) => entry['master'] === undefined && strings(entry['flags']).includes('self'))
    .map((entry) => ({
      device: str(entry['ifname']) ?? '',
      mac: (str(entry['mac']) ?? '').toLowerCase(),
      dst: str(entry['dst']) ?? '',
      permanent: entry['state'] === 'permanent',
    }));
}

/** `ip -j neigh show` */
export function parseNeighbours(text: string): NeighbourEntry[] {
  return parseJsonArray(text).map((entry) => ({
    device: str(entry['dev']) ?? '',
    ip: str(entry['dst']) ?? '',
    mac: str(entry['lladdr'])?.toLowerCase(),
    permanent: strings(entry['state']).includes('PERMANENT'),
  }));
}

/** `ip -j route show default`; an on-link route (`default dev DEVICE`) has gateway ''. */
export function parseDefaultRoute(text: string): DefaultRoute | undefined {
  const route = parseJsonArray(text).find((entry) => entry['dst'] === 'default');
  const device = route && str(route['dev']);
  return device ? { gateway: str(route['gateway']) ?? '', device } : undefined;
}

/** `ip -j netns list` */
export function parseNetnsNames(text: string): string[] {
  return parseJsonArray(text)
    .map((entry) => str(entry['name']))
    .filter((name): name is string => name !== undefined);
}
