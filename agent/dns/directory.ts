import type { EndpointView, NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { formatIpv4, parseIpv4 } from '../../proto/runtime/ipv4';
import { compareText } from '../../proto/runtime/order';
import type { Asker } from './model';
import { OverlaySubnets, reverseLookupAddress } from './reverse-names';

export interface Question {
  name: string;
  /** The record type as dns-packet names it: 'A', 'AAAA', 'PTR', … */
  type: string;
  /** 'IN' when left out; another class (CH's version.bind, …) has no cluster names and is forwarded. */
  class?: string;
}

/** What the cluster answers a question with, or that it is not the cluster's to answer. */
export type DirectoryAnswer =
  | { kind: 'records'; type: 'A' | 'PTR'; data: readonly string[]; shuffle: boolean }
  /** The name exists for the asker, with no record of the asked type (AAAA while there is no IPv6). */
  | { kind: 'nodata' }
  | { kind: 'nxdomain' }
  /** Not a cluster name: ask `dns`, the asking sandbox's --dns servers (empty: the host's resolvers). */
  | { kind: 'forward'; dns: readonly string[] }
  /**
   * Not a cluster name, and the asker has no way out: forwarding from the host would carry what
   * its network forbids (a name is data: CVE-2024-29018, Docker's leak from --internal networks).
   */
  | { kind: 'refused' };

export interface Directory {
  answer(asker: Asker, question: Question): DirectoryAnswer;
}

/** The records of one name on one network: addresses (A) or names (PTR). */
interface Records {
  data: string[];
  /** dnsrr and tasks.NAME: the answer is shuffled so clients spread over the backends. */
  shuffle: boolean;
}

interface AskerView {
  /** The networks the asker is on, by network name: the order of answers across networks. */
  networks: string[];
  dns: string[];
  /** Made by the agent and on no network that reaches outside (none, or only --internal ones). */
  isolated: boolean;
}

const NOBODY: AskerView = { networks: [], dns: [], isolated: false };
const TASKS = 'tasks.';

/**
 * The names a node's sandboxes may resolve, precomputed from the node's view and the endpoints the
 * managers call ready, so that an answer is a few map lookups (a view holds up to 10,000
 * endpoints). Pure. The rules (Docker's, stricter):
 *
 * - Visibility: an asker (the sandboxes of one namespace) sees a name only on the networks it is
 *   on through a local endpoint that is not draining. A target on several shared networks answers
 *   its address on each, in the order of the networks' names.
 * - A: sandbox names, endpoint hostnames and aliases. Aliases are per network: an alias given on
 *   network N answers only askers on N, with the endpoint's address on N.
 * - Services: a `vip` service's name answers its VIP on each shared network; a `dnsrr` service's
 *   name answers its backends' addresses, shuffled; `tasks.SERVICE` answers every backend on the
 *   shared networks (either mode), shuffled.
 * - Only what can carry traffic: an endpoint counts only when it is ready and not draining (a
 *   draining one takes no new connections, so it gets no new names).
 * - PTR: an overlay address the asker may see answers the sandbox's name (unique in the cluster,
 *   and it resolves back to that address for the same asker); a VIP answers its service's name.
 * - Names are case-insensitive and a trailing dot is ignored. Two kinds of one name on one network
 *   (a sandbox and a service both called `web`) answer all their addresses.
 * - The cluster's own names get NXDOMAIN when the asker sees nothing there: single-label names,
 *   `tasks.LABEL`, any name some endpoint or service has anywhere in the view, and reverse names
 *   of addresses inside the overlay subnets. A name that answers A for the asker answers other
 *   types with no records (NOERROR). Everything else is forwarded, except for a sandbox the agent
 *   made that is on no network reaching outside (none, or only `--internal` ones): it gets
 *   REFUSED, since the query would leave from the host's namespace (as Docker since 26).
 */
export function buildDirectory(view: NodeView, ready: ReadonlySet<string>): Directory {
  const forward = new RecordIndex();
  const reverse = new RecordIndex();
  const own = new Set<string>();
  const services = new Map(view.services.map((service) => [service.id, service]));
  for (const sandbox of view.sandboxes) own.add(lower(sandbox.name));
  for (const endpoint of view.endpoints) {
    const names = endpointNames(endpoint);
    for (const name of names) own.add(name);
    if (!ready.has(endpoint.id) || endpoint.draining) continue;
    for (const name of names) forward.add(name, endpoint.networkId, endpoint.ip, false);
    const reverseName = endpoint.sandboxName || endpoint.hostname;
    if (reverseName !== '') reverse.add(endpoint.ip, endpoint.networkId, reverseName, false);
    const service = services.get(endpoint.serviceId);
    if (service === undefined) continue;
    forward.add(TASKS + lower(service.name), endpoint.networkId, endpoint.ip, true);
    if (service.endpointMode === 'dnsrr') forward.add(lower(service.name), endpoint.networkId, endpoint.ip, true);
  }
  for (const service of view.services) {
    own.add(lower(service.name));
    own.add(TASKS + lower(service.name));
    if (service.endpointMode === 'dnsrr') continue;
    for (const vip of service.vips) {
      if (vip.ip === '') continue;
      forward.add(lower(service.name), vip.networkId, vip.ip, false);
      reverse.add(vip.ip, vip.networkId, service.name, false);
    }
  }
  forward.sort((address) => parseIpv4(address) ?? 0);
  reverse.sort((name) => name);
  const askers = askerViews(view);
  const overlay = new OverlaySubnets(view.overlaySubnets);

  return {
    answer(asker: Asker, question: Question): DirectoryAnswer {
      const name = normalisedName(question.name);
      const seer = askers.get(asker.netnsName) ?? NOBODY;
      const outside: DirectoryAnswer = seer.isolated ? { kind: 'refused' } : { kind: 'forward', dns: seer.dns };
      if (question.class !== undefined && question.class !== 'IN' && question.class !== 'ANY') return outside;
      const address = reverseLookupAddress(name);
      if (address !== undefined && overlay.contains(address)) {
        return found(reverse.visible(formatIpv4(address), seer.networks), 'PTR', question.type);
      }
      const records = forward.visible(name, seer.networks);
      if (records !== undefined) return found(records, 'A', question.type);
      if (isOwnName(name, own)) return { kind: 'nxdomain' };
      return outside;
    },
  };
}

function found(records: Records | undefined, type: 'A' | 'PTR', asked: string): DirectoryAnswer {
  if (records === undefined) return { kind: 'nxdomain' };
  if (asked !== type && asked !== 'ANY') return { kind: 'nodata' };
  return { kind: 'records', type, data: records.data, shuffle: records.shuffle };
}

function isOwnName(name: string, own: ReadonlySet<string>): boolean {
  if (name === '') return false;
  if (!name.includes('.')) return true;
  if (name.startsWith(TASKS) && !name.slice(TASKS.length).includes('.')) return true;
  return own.has(name);
}

/** Lower case without the trailing dot of an absolute name; '' for the root. */
export function normalisedName(name: string): string {
  const lowered = lower(name);
  return lowered.endsWith('.') ? lowered.slice(0, -1) : lowered;
}

function lower(name: string): string {
  return name.toLowerCase();
}

function endpointNames(endpoint: EndpointView): string[] {
  const names = [endpoint.sandboxName, endpoint.hostname, ...endpoint.aliases].filter((name) => name !== '');
  return [...new Set(names.map(lower))];
}

/**
 * Per namespace of a local sandbox: the networks of its endpoints that are not leaving, its
 * --dns servers in interface order (as its resolv.conf would list them), and whether it is
 * isolated (an adopted namespace has ways out of its own).
 */
function askerViews(view: NodeView): Map<string, AskerView> {
  const netnsOf = new Map(view.sandboxes.map((sandbox) => [sandbox.id, sandbox.netnsName]));
  const networkName = new Map(view.networks.map((network) => [network.id, network.name]));
  const internal = new Set(view.networks.filter((network) => network.internal).map((network) => network.id));
  const adopted = new Set(view.sandboxes.filter((sandbox) => sandbox.netnsPath !== '').map((sandbox) => sandbox.netnsName));
  const endpointsOf = new Map<string, EndpointView[]>();
  for (const endpoint of view.endpoints) {
    const netns = netnsOf.get(endpoint.sandboxId);
    if (endpoint.nodeId !== view.nodeId || netns === undefined) continue;
    const list = endpointsOf.get(netns) ?? [];
    list.push(endpoint);
    endpointsOf.set(netns, list);
  }
  const askers = new Map<string, AskerView>();
  for (const netns of new Set(netnsOf.values())) {
    const endpoints = endpointsOf.get(netns) ?? [];
    endpoints.sort((a, b) => a.interfaceName.localeCompare(b.interfaceName, 'en', { numeric: true }));
    const networks = [...new Set(endpoints.filter((endpoint) => !endpoint.draining).map((endpoint) => endpoint.networkId))];
    networks.sort((a, b) => compareText(networkName.get(a) ?? a, networkName.get(b) ?? b));
    const reachesOutside = endpoints.some((endpoint) => !internal.has(endpoint.networkId));
    askers.set(netns, { networks, dns: [...new Set(endpoints.flatMap((endpoint) => endpoint.dns))], isolated: !adopted.has(netns) && !reachesOutside });
  }
  return askers;
}

/** name → network id → records, filled while building, then sorted once. */
class RecordIndex {
  private readonly records = new Map<string, Map<string, Records>>();

  add(name: string, networkId: string, data: string, shuffle: boolean): void {
    let byNetwork = this.records.get(name);
    if (byNetwork === undefined) {
      byNetwork = new Map();
      this.records.set(name, byNetwork);
    }
    const records = byNetwork.get(networkId);
    if (records === undefined) byNetwork.set(networkId, { data: [data], shuffle });
    else {
      records.data.push(data);
      records.shuffle ||= shuffle;
    }
  }

  /** Sorts every list by `key` (computed once per element) and drops repeats. */
  sort(key: (data: string) => number | string): void {
    for (const byNetwork of this.records.values()) {
      for (const records of byNetwork.values()) {
        if (records.data.length < 2) continue;
        const keyed = records.data.map((data) => ({ data, key: key(data) }));
        keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : compareText(a.data, b.data)));
        records.data = keyed.filter((entry, index) => index === 0 || entry.data !== keyed[index - 1]?.data).map((entry) => entry.data);
      }
    }
  }

  /** The records of `name` on `networks`, in that order without repeats; undefined when there are none. */
  visible(name: string, networks: readonly string[]): Records | undefined {
    const byNetwork = this.records.get(name);
    if (byNetwork === undefined) return undefined;
    const parts: Records[] = [];
    for (const networkId of networks) {
      const records = byNetwork.get(networkId);
      if (records !== undefined) parts.push(records);
    }
    if (parts.length <= 1) return parts[0];
    return { data: [...new Set(parts.flatMap((part) => part.data))], shuffle: parts.some((part) => part.shuffle) };
  }
}
