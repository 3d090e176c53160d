import { gossipEntryDigest } from '../../proto/runtime/gossip-digest';
import type { OwnEndpoint } from './gossip-agent';
import { GossipEntry } from '../../proto/gen/trellis/v1/gossip';
import type { EndpointRecord, ManagerDigest, ManagerEntries, ManagerNetwork } from './model';

interface Endpoint {
  networkId: string;
  ownerNodeId: string;
  ip: string;
  mac: string;
}

/**
 * The managers as the gossip tests need them: the truth (nodes, their VTEPs, endpoints and
 * their owners), each node's view of it (its networks' members with the managers' digests,
 * its own endpoints), and the answers to fallback requests.
 */
export class TestManager {
  private revision = 0;
  private readonly vteps = new Map<string, string>();
  private readonly endpoints = new Map<string, Endpoint>();
  private created = 0;

  addNode(nodeId: string, vtep: string): void {
    this.vteps.set(nodeId, vtep);
    this.revision++;
  }

  /** `trellis node rm`: the node and its endpoints are gone. */
  removeNode(nodeId: string): void {
    this.vteps.delete(nodeId);
    for (const [id, endpoint] of this.endpoints) if (endpoint.ownerNodeId === nodeId) this.endpoints.delete(id);
    this.revision++;
  }

  /** The node's agent registered again with another advertise address. */
  readvertise(nodeId: string, vtep: string): void {
    if (this.vteps.has(nodeId)) this.vteps.set(nodeId, vtep);
    this.revision++;
  }

  nodeIds(): string[] {
    return [...this.vteps.keys()];
  }

  endpointIds(): string[] {
    return [...this.endpoints.keys()];
  }

  create(networkId: string, ownerNodeId: string): void {
    const n = ++this.created;
    this.endpoints.set(`ep${n}`, { networkId, ownerNodeId, ip: `10.${n >> 8}.${n & 255}.2`, mac: `02:42:00:00:${(n >> 8).toString(16)}:${(n & 255).toString(16)}` });
    this.revision++;
  }

  /** The endpoint's sandbox is rescheduled on another node: same endpoint, new owner, new MAC. */
  move(endpointId: string, ownerNodeId: string): void {
    const endpoint = this.endpoints.get(endpointId);
    if (!endpoint) return;
    this.endpoints.set(endpointId, { ...endpoint, ownerNodeId, mac: `${endpoint.mac.slice(0, -2)}ff` });
    this.revision++;
  }

  delete(endpointId: string): void {
    this.endpoints.delete(endpointId);
    this.revision++;
  }

  /** The networks a node hosts (at least one of its endpoints is on them). */
  networksOf(nodeId: string): string[] {
    return [...new Set([...this.endpoints.values()].filter((endpoint) => endpoint.ownerNodeId === nodeId).map((endpoint) => endpoint.networkId))].sort();
  }

  private records(networkId: string, ownerNodeId: string): EndpointRecord[] {
    const vtep = this.vteps.get(ownerNodeId) ?? '';
    return [...this.endpoints]
      .filter(([, endpoint]) => endpoint.networkId === networkId && endpoint.ownerNodeId === ownerNodeId)
      .map(([endpointId, endpoint]) => GossipEntry.fromPartial({ endpointId, ip: endpoint.ip, mac: endpoint.mac, vtep, hostname: endpointId }));
  }

  /** What a node's session carries: its networks with their other members, its own endpoints, the view's revision. */
  view(nodeId: string): { networks: ManagerNetwork[]; own: OwnEndpoint[]; revision: number } {
    const networks = this.networksOf(nodeId).map((networkId) => ({
      networkId,
      members: [...this.vteps]
        .filter(([member]) => member !== nodeId && this.networksOf(member).includes(networkId))
        .map(([member, vtep]) => ({ nodeId: member, publicKey: `key-${member}`, vtep })),
    }));
    const own = this.networksOf(nodeId).flatMap((networkId) => this.records(networkId, nodeId).map((record) => ({ ...record, networkId })));
    return { networks, own, revision: this.revision };
  }

  /** The leader's digests of every other member of the node's networks (MemberDigests, replace). */
  digests(nodeId: string): ManagerDigest[] {
    return this.view(nodeId).networks.flatMap(({ networkId, members }) =>
      members.map(({ nodeId: member }) => ({ networkId, nodeId: member, digest: gossipEntryDigest(this.records(networkId, member)), revision: this.revision })),
    );
  }

  answer(networkId: string, ownerNodeId: string): ManagerEntries {
    return { networkId, ownerNodeId, revision: this.revision, entries: this.records(networkId, ownerNodeId) };
  }

  /** Every endpoint on the network hosted elsewhere than `nodeId`, as that node must program it. */
  truthFor(networkId: string, nodeId: string): string[] {
    return this.nodeIds()
      .filter((owner) => owner !== nodeId)
      .flatMap((owner) => this.records(networkId, owner).map((record) => describe(owner, record)))
      .sort();
  }
}

export function describe(ownerNodeId: string, record: EndpointRecord): string {
  return `${ownerNodeId} ${record.endpointId} ${record.ip} ${record.mac} ${record.vtep}`;
}
