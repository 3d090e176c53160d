import { EndpointReadiness, EndpointView, MemberDigest, MemberDigests, MemberRef, MemberView, NetworkView, NodeView, SandboxView, ServiceView, ViewDelta, type ViewChunk } from '../../proto/gen/trellis/v1/dispatcher';
import { maxMessageBytes } from '../../proto/runtime/message-limits';
import { messageFieldBytes, stringFieldBytes } from '../../proto/runtime/wire-size';
import { packBySize, type PackLimits, type Piece } from './size-packing';

/**
 * At most 256 KiB per view message (1/16 of gRPC's limit), and at most 256 items per
 * resync chunk (about 30 KB of ordinary endpoints), so a thousand agents resyncing
 * at once hold little in flight. An item over the budget (an endpoint with thousands
 * of extra hosts) goes alone; one over gRPC's limit is left out and logged.
 */
export const viewLimits: PackLimits = { budgetBytes: 256 * 1024, maxMessageBytes, maxItems: 256 };

/** Deltas are cut by bytes only: an ordinary delta, however many items, stays one message. */
const deltaLimits = (limits: PackLimits): PackLimits => ({ ...limits, maxItems: undefined });

/** ManagerMessage and ViewChunk around a part: tags, lengths up to 4 MiB, and the flags. */
const envelopeBytes = 16;

export interface Split<T> {
  parts: T[];
  /** Items left out because they do not fit in any message (see `packBySize`). */
  dropped: string[];
}

function pieces<P, T>(items: readonly T[], bytes: (item: T) => number, list: (part: P) => T[], name: (item: T) => string): Piece<P>[] {
  return items.map((item) => ({ bytes: bytes(item), add: (part) => list(part).push(item), describe: () => name(item) }));
}

const networkBytes = (network: NetworkView): number => messageFieldBytes(NetworkView, network);
const sandboxBytes = (sandbox: SandboxView): number => messageFieldBytes(SandboxView, sandbox);
const endpointBytes = (endpoint: EndpointView): number => messageFieldBytes(EndpointView, endpoint);
const serviceBytes = (service: ServiceView): number => messageFieldBytes(ServiceView, service);
const memberBytes = (member: MemberView): number => messageFieldBytes(MemberView, member);
const memberRefBytes = (member: MemberRef): number => messageFieldBytes(MemberRef, member);
const networkName = (network: NetworkView): string => `network ${network.name} (${network.id})`;
const sandboxName = (sandbox: SandboxView): string => `sandbox ${sandbox.name} (${sandbox.id})`;
const endpointName = (endpoint: EndpointView): string => `endpoint ${endpoint.id} (${endpoint.ip} in network ${endpoint.networkId})`;
const serviceName = (service: ServiceView): string => `service ${service.name} (${service.id})`;
const memberName = (member: MemberRef): string => `member ${member.nodeId} of network ${member.networkId}`;
const named = (kind: string) => (value: string): string => `${kind} ${value}`;

/**
 * Cuts a view into chunks under `limits`. Every chunk carries the node's fields; the
 * first and last are marked; their lists, concatenated, are the view's.
 */
export function viewChunks(view: NodeView, limits: PackLimits = viewLimits): Split<ViewChunk> {
  const empty = (): NodeView => ({ ...view, networks: [], sandboxes: [], endpoints: [], overlaySubnets: [], services: [], members: [] });
  const headerBytes = NodeView.encode(empty()).finish().length + envelopeBytes;
  const { parts, dropped } = packBySize(
    [
      ...pieces(view.networks, networkBytes, (part: NodeView) => part.networks, networkName),
      ...pieces(view.sandboxes, sandboxBytes, (part: NodeView) => part.sandboxes, sandboxName),
      ...pieces(view.endpoints, endpointBytes, (part: NodeView) => part.endpoints, endpointName),
      ...pieces(view.overlaySubnets, stringFieldBytes, (part: NodeView) => part.overlaySubnets, named('overlay subnet')),
      ...pieces(view.services, serviceBytes, (part: NodeView) => part.services, serviceName),
      ...pieces(view.members, memberBytes, (part: NodeView) => part.members, memberName),
    ],
    empty,
    headerBytes,
    limits,
  );
  return { parts: parts.map((part, index) => ({ part, first: index === 0, last: index === parts.length - 1 })), dropped };
}

/**
 * Cuts a delta into parts under `limits` (by bytes only): each carries the revisions
 * and node fields, every part but the last has `more` set, and their lists,
 * concatenated, are the delta's. A delta that fits is returned whole, as one part.
 */
export function deltaParts(delta: ViewDelta, limits: PackLimits = viewLimits): Split<ViewDelta> {
  const empty = (): ViewDelta => ({
    ...delta,
    networkIds: [],
    networks: [],
    sandboxes: [],
    removedSandboxIds: [],
    endpoints: [],
    removedEndpointIds: [],
    overlaySubnets: [],
    services: [],
    removedServiceIds: [],
    members: [],
    removedMembers: [],
    more: false,
  });
  const headerBytes = ViewDelta.encode({ ...empty(), more: true }).finish().length + envelopeBytes;
  const { parts, dropped } = packBySize(
    [
      ...pieces(delta.networkIds, stringFieldBytes, (part: ViewDelta) => part.networkIds, named('hosted network id')),
      ...pieces(delta.networks, networkBytes, (part: ViewDelta) => part.networks, networkName),
      ...pieces(delta.sandboxes, sandboxBytes, (part: ViewDelta) => part.sandboxes, sandboxName),
      ...pieces(delta.removedSandboxIds, stringFieldBytes, (part: ViewDelta) => part.removedSandboxIds, named('removed sandbox')),
      ...pieces(delta.endpoints, endpointBytes, (part: ViewDelta) => part.endpoints, endpointName),
      ...pieces(delta.removedEndpointIds, stringFieldBytes, (part: ViewDelta) => part.removedEndpointIds, named('removed endpoint')),
      ...pieces(delta.overlaySubnets, stringFieldBytes, (part: ViewDelta) => part.overlaySubnets, named('overlay subnet')),
      ...pieces(delta.services, serviceBytes, (part: ViewDelta) => part.services, serviceName),
      ...pieces(delta.removedServiceIds, stringFieldBytes, (part: ViewDelta) => part.removedServiceIds, named('removed service')),
      ...pieces(delta.members, memberBytes, (part: ViewDelta) => part.members, memberName),
      ...pieces(delta.removedMembers, memberRefBytes, (part: ViewDelta) => part.removedMembers, memberName),
    ],
    empty,
    headerBytes,
    deltaLimits(limits),
  );
  return { parts: parts.map((part, index) => ({ ...part, more: index < parts.length - 1 })), dropped };
}

/**
 * A message that is either whole (`replace`) or a change, in as many messages as its size needs (by
 * bytes only, like a delta): the first keeps `replace`, the others add to it.
 */
function replaceableParts<P extends { replace: boolean }>(whole: P, items: Piece<P>[], empty: () => P, headerBytes: number, limits: PackLimits): P[] {
  const { parts } = packBySize(items, empty, headerBytes, deltaLimits(limits));
  const [first] = parts;
  if (first) first.replace = whole.replace;
  return parts;
}

/** Readiness in as many messages as its size needs (see `replaceableParts`). Ids are small: none is ever too large for a message. */
export function readinessMessages(readiness: EndpointReadiness, limits: PackLimits = viewLimits): EndpointReadiness[] {
  const empty = (): EndpointReadiness => ({ replace: false, readyEndpointIds: [], unreadyEndpointIds: [] });
  const headerBytes = EndpointReadiness.encode({ ...empty(), replace: true }).finish().length + envelopeBytes;
  // The usual case, a whole set of a few thousand ids or a change of a few, without a piece per id.
  let bytes = headerBytes;
  for (const id of readiness.readyEndpointIds) bytes += stringFieldBytes(id);
  for (const id of readiness.unreadyEndpointIds) bytes += stringFieldBytes(id);
  if (bytes <= limits.budgetBytes) return [readiness];
  const items = [
    ...pieces(readiness.readyEndpointIds, stringFieldBytes, (part: EndpointReadiness) => part.readyEndpointIds, named('ready endpoint')),
    ...pieces(readiness.unreadyEndpointIds, stringFieldBytes, (part: EndpointReadiness) => part.unreadyEndpointIds, named('unready endpoint')),
  ];
  return replaceableParts(readiness, items, empty, headerBytes, limits);
}

/** Member digests in as many messages as their size needs (see `replaceableParts`). */
export function memberDigestMessages(digests: MemberDigests, limits: PackLimits = viewLimits): MemberDigests[] {
  const empty = (): MemberDigests => ({ replace: false, digests: [] });
  const headerBytes = MemberDigests.encode({ ...empty(), replace: true }).finish().length + envelopeBytes;
  const digestBytes = (digest: MemberDigest): number => messageFieldBytes(MemberDigest, digest);
  const items = pieces(digests.digests, digestBytes, (part: MemberDigests) => part.digests, (digest) => `digest of ${digest.nodeId} on network ${digest.networkId}`);
  return replaceableParts(digests, items, empty, headerBytes, limits);
}
