import type { NodeView, ViewChunk } from '../../proto/gen/trellis/v1/dispatcher';

/** Networks, sandboxes, endpoints and overlay subnets per chunk: about 30 KB of endpoints, so a thousand agents resyncing at once hold little in flight. */
export const itemsPerChunk = 256;

/**
 * Cuts a view into chunks of at most `limit` list items, so that no message grows
 * with the cluster. Every chunk carries the node's fields; the first and last are marked.
 */
export function viewChunks(view: NodeView, limit = itemsPerChunk): ViewChunk[] {
  const parts: NodeView[] = [];
  let part = emptyPart(view);
  let items = 0;
  const room = (): NodeView => {
    if (items === limit) {
      parts.push(part);
      part = emptyPart(view);
      items = 0;
    }
    items += 1;
    return part;
  };
  for (const network of view.networks) room().networks.push(network);
  for (const sandbox of view.sandboxes) room().sandboxes.push(sandbox);
  for (const endpoint of view.endpoints) room().endpoints.push(endpoint);
  for (const subnet of view.overlaySubnets) room().overlaySubnets.push(subnet);
  parts.push(part);
  return parts.map((chunk, index) => ({ part: chunk, first: index === 0, last: index === parts.length - 1 }));
}

function emptyPart(view: NodeView): NodeView {
  return { ...view, networks: [], sandboxes: [], endpoints: [], overlaySubnets: [] };
}
