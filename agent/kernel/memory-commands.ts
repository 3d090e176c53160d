import { BRIDGE_NETFILTER_SYSCTLS } from './namespace-reads';
import { KernelAction, Scope } from './actions';
import {
  KernelRefusal,
  MemLink,
  MemNamespace,
  addLink,
  addVethPair,
  adjustBridgeMtu,
  deleteLink,
  linkIn,
  removeAddress,
  setMaster,
  setUp,
} from './memory-state';
import { MemoryWorld } from './memory-world';
import { normalizeListing } from '../firewall';

/**
 * MemoryKernel's interpreter: one line of an `ip`/`bridge` batch, one `sysctl -w` or one
 * `nft -f -` script, applied to the world as the kernel would. A failure the kernel would report
 * throws KernelRefusal with iproute2's message; anything this model does not know throws
 * UnsupportedAction, so a new kind of write cannot pass unnoticed.
 */

export class UnsupportedAction extends Error {
  constructor(action: Pick<KernelAction, 'tool' | 'args'>, why: string) {
    super(`MemoryKernel cannot interpret ${action.tool} ${action.args.join(' ')}: ${why}`);
    this.name = 'UnsupportedAction';
  }
}

/** The VXLAN header overhead the kernel subtracts from the underlay's MTU for an IPv4 device. */
const VXLAN_HEADROOM = 50;

type Arity = 0 | 1;
type Options = Map<string, string>;

/** `ns`: the namespace `scope` leads to, entered once for the whole batch. */
export function runLine(world: MemoryWorld, scope: Scope, ns: MemNamespace, action: Pick<KernelAction, 'tool' | 'args'>): void {
  const fail = (why: string): never => {
    throw new UnsupportedAction(action, why);
  };
  const words = action.args;
  const options = (from: number, spec: Record<string, Arity>): Options => parseOptions(words.slice(from), spec, fail);
  const [object, verb] = words;
  if (action.tool === 'bridge') return object === 'fdb' ? fdbLine(ns, words, options, fail) : fail('unknown bridge object');
  if (action.tool === 'sysctl') return words.forEach((assignment) => sysctl(ns, assignment, fail));
  if (action.tool === 'nft') return nft(ns, words.join('\n'), fail);
  if (action.tool === 'attach') return world.nameNamespace(words[0] ?? fail('no name'), ns);
  switch (`${object ?? ''} ${verb ?? ''}`) {
    case 'netns add':
    case 'netns del':
    case 'netns attach':
      if (scope.kind !== 'root') fail('namespace names are only made where the agent runs');
      return netnsLine(world, words, fail);
    case 'link add':
      return linkAdd(world, ns, words.slice(2), fail);
    case 'link set':
      return linkSet(ns, words.slice(2), fail);
    case 'link del':
      return deleteLink(linkIn(ns, deviceOf(words.slice(2), fail)));
    case 'addr add':
    case 'addr del': {
      const address = words[2] ?? fail('no address');
      const link = linkIn(ns, options(3, { dev: 1 }).get('dev') ?? fail('no dev'));
      if (verb === 'del') return removeAddress(link, address);
      if (link.addresses.includes(address)) throw new KernelRefusal('Error: ipv4: Address already assigned.');
      link.addresses.push(address);
      return;
    }
    case 'route add':
    case 'route replace':
    case 'route del':
      return routeLine(ns, words, options, fail);
    case 'neigh replace':
    case 'neigh del':
      return neighLine(ns, words, options, fail);
    case 'ntable change': {
      const set = options(2, { name: 1, dev: 1, retrans: 1 });
      if (set.get('name') !== 'arp_cache') fail('only arp_cache is modelled');
      const link = ns.links.get(set.get('dev') ?? fail('no dev'));
      if (link === undefined) throw new KernelRefusal(`Error: argument "${set.get('dev') ?? ''}" is wrong: "DEV" is invalid`, true);
      link.arpRetransMs = Number(set.get('retrans') ?? fail('no retrans'));
      return;
    }
    default:
      return fail('unknown ip command');
  }
}

function parseOptions(words: readonly string[], spec: Record<string, Arity>, fail: (why: string) => never): Options {
  const parsed: Options = new Map();
  for (let at = 0; at < words.length; at += 1) {
    const word = words[at] ?? '';
    const arity = spec[word];
    if (arity === undefined) fail(`unknown word "${word}"`);
    if (arity === 1 && words[at + 1] === undefined) fail(`"${word}" without a value`);
    parsed.set(word, arity === 1 ? words[++at] ?? '' : '');
  }
  return parsed;
}

function deviceOf(words: readonly string[], fail: (why: string) => never): string {
  if (words.length === 1) return words[0] ?? '';
  if (words.length === 2 && words[0] === 'dev') return words[1] ?? '';
  return fail('expected [dev] NAME');
}

function netnsLine(world: MemoryWorld, words: readonly string[], fail: (why: string) => never): void {
  const [, verb, name, pid] = words;
  if (name === undefined || words.length > (verb === 'attach' ? 4 : 3)) fail('expected one name');
  if (verb === 'add') world.addName(name ?? '');
  else if (verb === 'del') world.deleteName(name ?? '');
  else world.attachName(name ?? '', Number(pid ?? fail('no pid')));
}

const LINK_ADD: Record<string, Arity> = { name: 1, netns: 1, mtu: 1, master: 1, up: 0, address: 1 };

function linkAdd(world: MemoryWorld, ns: MemNamespace, words: readonly string[], fail: (why: string) => never): void {
  const typeAt = words.indexOf('type');
  if (typeAt < 0) fail('no type');
  const own = parseOptions(words.slice(0, typeAt), LINK_ADD, fail);
  const kind = words[typeAt + 1] ?? '';
  const rest = words.slice(typeAt + 2);
  const name = own.get('name') ?? fail('no name');
  const netns = own.get('netns');
  const home = netns === undefined ? ns : world.named(netns);
  const master = own.get('master') === undefined ? undefined : bridgeIn(home, own.get('master') ?? '');
  const mtu = own.get('mtu');
  let link: MemLink;
  if (kind === 'bridge') {
    if (rest.length > 0) fail('bridge options are not modelled');
    link = addLink(home, { name, kind, mtu: Number(mtu ?? 1500), mac: own.get('address') ?? world.newMac() });
  } else if (kind === 'vxlan') {
    link = addVxlan(world, ns, home, name, mtu, parseOptions(rest, VXLAN, fail));
  } else if (kind === 'veth') {
    if (rest[0] !== 'peer') fail('a veth needs its peer');
    const peer = parseOptions(rest.slice(1), { name: 1, netns: 1, address: 1, mtu: 1 }, fail);
    const peerName = peer.get('name') ?? fail('no peer name');
    const peerNetns = peer.get('netns');
    const peerHome = peerNetns === undefined ? home : world.named(peerNetns);
    link = addVethPair(
      home, { name, mtu: Number(mtu ?? 1500), mac: own.get('address') ?? world.newMac() },
      peerHome, { name: peerName, mtu: Number(peer.get('mtu') ?? 1500), mac: peer.get('address') ?? world.newMac() },
    );
  } else {
    return fail(`link type ${kind} is not modelled`);
  }
  if (master !== undefined) setMaster(link, master.name);
  if (own.has('up')) setUp(link, true);
}

const VXLAN: Record<string, Arity> = {
  id: 1, dstport: 1, local: 1, dev: 1, learning: 0, nolearning: 0, proxy: 0, noproxy: 0,
};

/** Born into `home` from `birth`: its socket and its underlay are the birth namespace's. */
function addVxlan(
  world: MemoryWorld,
  birth: MemNamespace,
  home: MemNamespace,
  name: string,
  mtu: string | undefined,
  options: Options,
): MemLink {
  const underlay = linkIn(birth, options.get('dev') ?? '');
  const vni = Number(options.get('id'));
  const port = Number(options.get('dstport') ?? 8472);
  const taken = world.namespaces().some((ns) =>
    [...ns.links.values()].some((other) => other.vxlan?.birthNs === birth && other.vxlan.vni === vni && other.vxlan.port === port));
  if (taken) throw new KernelRefusal('Error: A VXLAN device with the specified VNI already exists.');
  if (home.links.has(name)) throw new KernelRefusal('RTNETLINK answers: File exists');
  // Measured: an MTU above what the underlay can carry is cut down to it at creation.
  const maxMtu = underlay.mtu - VXLAN_HEADROOM;
  const link = addLink(home, { name, kind: 'vxlan', mtu: Math.min(Number(mtu ?? maxMtu), maxMtu), mac: world.newMac() });
  link.vxlan = {
    vni, port, local: options.get('local') ?? '', underlayIfindex: underlay.ifindex, birthNs: birth,
    learning: !options.has('nolearning'), proxy: options.has('proxy'),
  };
  return link;
}

function bridgeIn(ns: MemNamespace, name: string): MemLink {
  const bridge = ns.links.get(name);
  if (bridge === undefined) throw new KernelRefusal(`Error: argument "${name}" is wrong: Device does not exist`, true);
  if (bridge.kind !== 'bridge') throw new KernelRefusal('RTNETLINK answers: Operation not supported');
  return bridge;
}

const LINK_SET: Record<string, Arity> = { dev: 1, address: 1, mtu: 1, master: 1, nomaster: 0, alias: 1, up: 0, down: 0 };

/** In the order the kernel's do_setlink applies them: address, MTU, master, alias, then up or down. */
function linkSet(ns: MemNamespace, words: readonly string[], fail: (why: string) => never): void {
  const typeAt = words.indexOf('type');
  const set = parseOptions(typeAt < 0 ? words : words.slice(0, typeAt), LINK_SET, fail);
  const link = linkIn(ns, set.get('dev') ?? fail('no dev'));
  const master = set.get('master');
  const masterLink = master === undefined ? undefined : bridgeIn(ns, master);
  if (typeAt >= 0) {
    const slave = parseOptions(words.slice(typeAt + 2), { isolated: 1 }, fail);
    if (words[typeAt + 1] !== 'bridge_slave' || set.size !== 1) fail('only `type bridge_slave isolated` is modelled, on its own');
    if (link.master === undefined) throw new KernelRefusal('RTNETLINK answers: Operation not supported');
    link.isolated = slave.get('isolated') === 'on';
    return;
  }
  const address = set.get('address');
  if (address !== undefined) link.mac = address;
  const mtu = set.get('mtu');
  if (mtu !== undefined) setMtu(link, Number(mtu));
  if (masterLink !== undefined && link.master !== masterLink.name) setMaster(link, masterLink.name);
  if (set.has('nomaster') && link.master !== undefined) setMaster(link, undefined);
  const alias = set.get('alias');
  if (alias !== undefined) link.alias = alias === '' ? undefined : alias;
  if (set.has('up')) setUp(link, true);
  if (set.has('down')) setUp(link, false);
}

export function setMtu(link: MemLink, mtu: number): void {
  const underlay = link.vxlan && [...link.vxlan.birthNs.links.values()].find((other) => other.ifindex === link.vxlan?.underlayIfindex);
  if (underlay !== undefined && mtu > underlay.mtu - VXLAN_HEADROOM) throw new KernelRefusal('Error: mtu greater than device maximum.');
  // The kernel skips setting an MTU a link already has: a bridge's then stays unmarked.
  if (link.kind === 'bridge' && link.mtu !== mtu) link.mtuSetByUser = true;
  link.mtu = mtu;
  if (link.master !== undefined) adjustBridgeMtu(link.ns, link.master);
}

function routeLine(ns: MemNamespace, words: readonly string[], options: (from: number, spec: Record<string, Arity>) => Options, fail: (why: string) => never): void {
  const verb = words[1];
  if (words[2] !== 'default') fail('only the default route is modelled');
  if (verb === 'del') {
    if (words.length > 3) fail('route del default takes nothing else');
    if (ns.defaultRoute === undefined) throw new KernelRefusal('RTNETLINK answers: No such process');
    ns.defaultRoute = undefined;
    return;
  }
  const route = options(3, { via: 1, dev: 1 });
  const device = linkIn(ns, route.get('dev') ?? fail('no dev'));
  const gateway = route.get('via') ?? fail('no gateway');
  if (!device.up || !device.addresses.some((address) => onLink(address, gateway))) throw new KernelRefusal('Error: Nexthop has invalid gateway.');
  if (verb === 'add' && ns.defaultRoute !== undefined) throw new KernelRefusal('RTNETLINK answers: File exists');
  ns.defaultRoute = { gateway, device: device.name };
}

function ipv4(text: string): number {
  return text.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

/** Whether `gateway` is in the subnet of `cidr` (the connected route a gateway must be reached through). */
function onLink(cidr: string, gateway: string): boolean {
  const [address = '', length = '32'] = cidr.split('/');
  const block = 2 ** (32 - Number(length));
  return Math.floor(ipv4(address) / block) === Math.floor(ipv4(gateway) / block);
}

function neighLine(ns: MemNamespace, words: readonly string[], options: (from: number, spec: Record<string, Arity>) => Options, fail: (why: string) => never): void {
  const ip = words[2] ?? fail('no address');
  const set = options(3, { lladdr: 1, dev: 1, nud: 1 });
  const device = linkIn(ns, set.get('dev') ?? fail('no dev')).name;
  const others = ns.neighbours.filter((entry) => entry.device !== device || entry.ip !== ip);
  if (words[1] === 'del') {
    if (others.length === ns.neighbours.length) throw new KernelRefusal('RTNETLINK answers: No such file or directory', true);
  } else {
    if (set.get('nud') !== 'permanent' || !set.has('lladdr')) fail('only permanent entries with an lladdr are modelled');
    others.push({ device, ip, mac: set.get('lladdr')?.toLowerCase(), permanent: true });
  }
  ns.neighbours = others;
}

/**
 * A VXLAN device's FDB maps a MAC to one or more remotes (`dst`); `replace` changes the first
 * remote, `append` adds one, `del` with a dst removes that remote, without one the whole MAC.
 * The state (permanent or not) belongs to the MAC, shared by its remotes.
 */
function fdbLine(ns: MemNamespace, words: readonly string[], options: (from: number, spec: Record<string, Arity>) => Options, fail: (why: string) => never): void {
  const [, verb, rawMac] = words;
  const mac = (rawMac ?? fail('no MAC')).toLowerCase();
  const set = options(3, { dev: 1, dst: 1, self: 0, permanent: 0 });
  if (!set.has('self')) fail('only self entries are modelled');
  const device = linkIn(ns, set.get('dev') ?? fail('no dev'));
  if (device.kind !== 'vxlan') fail('only VXLAN devices\' own entries are modelled');
  const dst = set.get('dst') ?? '';
  const ofMac = (entry: { device: string; mac: string }) => entry.device === device.name && entry.mac === mac;
  const remotes = ns.fdb.filter(ofMac);
  if (verb === 'del') {
    const gone = set.has('dst') ? remotes.filter((entry) => entry.dst === dst) : remotes;
    if (gone.length === 0) throw new KernelRefusal('RTNETLINK answers: No such file or directory');
    ns.fdb = ns.fdb.filter((entry) => !gone.includes(entry));
    return;
  }
  const permanent = set.has('permanent');
  if (verb === 'add' && remotes.length > 0) throw new KernelRefusal('RTNETLINK answers: File exists');
  if (verb !== 'add' && verb !== 'append' && verb !== 'replace') fail('unknown fdb command');
  for (const entry of remotes) entry.permanent = permanent;
  const first = remotes[0];
  if (remotes.some((entry) => entry.dst === dst)) return;
  if (verb === 'replace' && first !== undefined) first.dst = dst;
  else ns.fdb.push({ device: device.name, mac, dst, permanent });
}

function sysctl(ns: MemNamespace, assignment: string, fail: (why: string) => never): void {
  const [key = '', value] = assignment.split('=');
  if (value !== '0' && value !== '1') fail(`${assignment}: only 0 and 1 are modelled`);
  if (key === 'net.ipv4.ip_forward') {
    ns.ipForwarding = value === '1';
    return;
  }
  const bridgeSwitch = BRIDGE_NETFILTER_SYSCTLS.indexOf(key);
  if (bridgeSwitch < 0) fail(`${key} is not modelled`);
  // Without br_netfilter the switch does not exist, which `sysctl -e` passes over.
  if (ns.bridgeNetfilter !== undefined) ns.bridgeNetfilter[bridgeSwitch] = value === '1';
}

/**
 * The two scripts the agent writes (scripts.ts): declare-then-delete its table, optionally
 * followed by the table in full. The table is kept as nft would list it, which for a rendered
 * table is the rendering itself (firewall.kernel.test.ts checks that on the real nft).
 */
function nft(ns: MemNamespace, script: string, fail: (why: string) => never): void {
  const drop = /^table ip (\S+)\ndelete table ip \1\n/.exec(script);
  const table = drop?.[1] ?? fail('not a declare-then-delete of one table');
  const rest = script.slice(drop?.[0].length);
  if (rest !== '' && !rest.startsWith(`table ip ${table} {\n`)) fail('the script adds something other than its table');
  if (rest === '') ns.firewall.delete(table);
  else ns.firewall.set(table, normalizeListing(rest));
}
