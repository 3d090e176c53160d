import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { hostVethName, lanDeviceName, type DesiredKernel } from '../kernel';

/**
 * The local endpoints of `view` that were wanted but not kept: checkAdoptedNamespaces dropped them
 * with their adopted namespace (missing, or an interface name Trellis does not own).
 */
export function droppedEndpointIds(view: NodeView, wanted: DesiredKernel, kept: DesiredKernel): string[] {
  const keptNames = new Set([...kept.endpoints, ...kept.lanEndpoints].map((endpoint) => endpoint.hostName));
  const dropped = new Set([...wanted.endpoints, ...wanted.lanEndpoints].filter((endpoint) => !keptNames.has(endpoint.hostName)).map((endpoint) => endpoint.hostName));
  if (dropped.size === 0) return [];
  const isDropped = (id: string) => dropped.has(hostVethName(id)) || dropped.has(lanDeviceName(id));
  return view.endpoints.filter((endpoint) => endpoint.nodeId === view.nodeId && isDropped(endpoint.id)).map((endpoint) => endpoint.id);
}
