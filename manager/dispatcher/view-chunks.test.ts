import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { HeldView } from '../../proto/runtime/held-view';
import { viewChunks } from './view-chunks';

function bigView(endpoints: number, overlaySubnets = 0): NodeView {
  return {
    revision: 42,
    nodeId: 'n1',
    nodeName: 'node-1',
    advertiseAddr: '198.18.0.1',
    networks: [{ id: 'net', name: 'blue', vni: 4096, subnet: '10.0.0.0/16', gateway: '10.0.0.1', mtu: 0, internal: false }],
    sandboxes: [{ id: 'sb', name: 'web', netnsName: 'trsb-web', netnsPath: '' }],
    endpoints: Array.from({ length: endpoints }, (_, i) => ({
      id: `ep${i}`,
      networkId: 'net',
      sandboxId: 'sb',
      nodeId: 'n1',
      vtep: '198.18.0.1',
      ip: `10.0.${i >> 8}.${i & 255}`,
      prefixLength: 16,
      mac: '02:42:0a:00:00:00',
      interfaceName: 'eth0',
      hostname: '',
      extraHosts: [],
      dns: [],
      publishedPorts: i === 0 ? [{ protocol: 'tcp', hostPort: 8080, port: 80 }] : [],
    })),
    overlaySubnets: Array.from({ length: overlaySubnets }, (_, i) => `10.${1 + (i >> 8)}.${i & 255}.0/24`),
  };
}

describe('viewChunks', () => {
  it('cuts a large view into bounded chunks that reassemble into the same view', () => {
    const view = bigView(3500, 300);
    const chunks = viewChunks(view, 1500);
    expect(chunks.map((chunk) => [chunk.first, chunk.last])).toEqual([
      [true, false],
      [false, false],
      [false, true],
    ]);
    for (const chunk of chunks) {
      const part = chunk.part;
      const items = [part?.networks, part?.sandboxes, part?.endpoints, part?.overlaySubnets].reduce((sum, list) => sum + (list?.length ?? 0), 0);
      expect(items).toBeLessThanOrEqual(1500);
    }
    const held = new HeldView();
    const assembled = chunks.map((chunk) => held.applyChunk(chunk));
    expect(assembled.slice(0, 2)).toEqual([undefined, undefined]);
    expect(assembled[2]).toEqual(view);
    expect(held.revision).toBe(42);
  });

  it('sends an empty view as one chunk that is both first and last', () => {
    const view = { ...bigView(0), networks: [], sandboxes: [], overlaySubnets: [] };
    expect(viewChunks(view)).toEqual([{ part: view, first: true, last: true }]);
  });
});
