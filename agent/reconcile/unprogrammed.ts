import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { hostVethName, type DesiredKernel } from '../kernel';

/**
 * The local endpoints of `view` that were wanted but not kept: checkAdoptedNamespaces dropped them
 * with their adopted namespace (missing, or an interface name Trellis does not own).
 */
export function droppedEndpointIds(view: NodeView, wanted: DesiredKernel, kept: DesiredKernel): string[] {
  const keptNames = new Set(kept.endpoints.map((endpoint) => endpoint.hostName));
  const dropped = new Set(wanted.endpoints.filter((endpoint) => !keptNames.has(endpoint.hostName)).map((endpoint) => endpoint.hostName));
  if (dropped.size === 0) return [];
  return view.endpoints.filter((endpoint) => endpoint.nodeId === view.nodeId && dropped.has(hostVethName(endpoint.id))).map((endpoint) => endpoint.id);
}
