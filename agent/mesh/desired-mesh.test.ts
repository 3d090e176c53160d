import { EndpointView, NodeView, ServiceView } from '../../proto/gen/trellis/v1/dispatcher';
import { Store } from '../../manager/store';
import { must } from '../../manager/store/test-fixtures';
import { desiredMesh } from './desired-mesh';
import { meshMac } from './names';

const HERE = { nodeId: 'n-here', address: '198.18.0.11' };

const port = (publishedPort: number, publishMode: 'ingress' | 'host', protocol = 'tcp'): ServiceView['ports'][number] => ({ protocol, targetPort: 80, publishedPort, publishMode });

const backend = (id: string, nodeId: string, vtep: string, extra: Partial<EndpointView> = {}): EndpointView =>
  EndpointView.fromPartial({ id, nodeId, vtep, sandboxId: `sb-${id}`, networkId: 'net', serviceId: 'svc', ...extra });

function view(endpoints: EndpointView[], ports: ServiceView['ports']): NodeView {
  return NodeView.fromPartial({
    nodeId: HERE.nodeId,
    endpoints,
    services: [ServiceView.fromPartial({ id: 'svc', name: 'web', endpointMode: 'vip', ports })],
  });
}

function mesh(endpoints: EndpointView[], ports: ServiceView['ports'], ready = endpoints.map((endpoint) => endpoint.id), gateways: Record<string, string> = {}) {
  return desiredMesh(view(endpoints, ports), {
    underlayDevice: 'eth0',
    localAddress: HERE.address,
    ready: new Set(ready),
    gatewayAddresses: new Map(Object.entries(gateways)),
  });
}

describe('desiredMesh', () => {
  it('forwards an ingress port without a local backend to backend nodes, one hash slot per ready backend', () => {
    const { mesh: wanted } = mesh(
      [backend('b1', 'n-b', '198.18.0.13'), backend('b2', 'n-b', '198.18.0.13'), backend('c1', 'n-c', '198.18.0.12')],
      [port(8080, 'ingress')],
    );
    expect(wanted.forwarded).toEqual([{ protocol: 'tcp', port: 8080, slots: ['198.18.0.12', '198.18.0.13', '198.18.0.13'] }]);
    expect(wanted.hostDnat).toEqual([]);
    expect(wanted.tunnel?.peers).toEqual([
      { address: '198.18.0.12', mac: meshMac('198.18.0.12') },
      { address: '198.18.0.13', mac: meshMac('198.18.0.13') },
    ]);
  });

  it('serves an ingress port itself when a backend runs here, for its own address and for the tunnel', () => {
    const endpoints = [backend('l1', HERE.nodeId, HERE.address), backend('c1', 'n-c', '198.18.0.12')];
    const { mesh: wanted } = mesh(endpoints, [port(8080, 'ingress')], undefined, { 'sb-l1': '172.29.0.5' });
    const dnat = { protocol: 'tcp', port: 8080, targetPort: 80, backends: ['172.29.0.5'] };
    expect(wanted.hostDnat).toEqual([dnat]);
    expect(wanted.tunnelDnat).toEqual([dnat]);
    expect(wanted.forwarded).toEqual([]);
    expect(wanted.tunnel).toEqual({ peers: [] });
  });

  it('publishes a host-mode port only with a local backend, and never forwards it', () => {
    const remoteOnly = mesh([backend('c1', 'n-c', '198.18.0.12')], [port(8081, 'host')]).mesh;
    expect([remoteOnly.hostDnat, remoteOnly.forwarded, remoteOnly.tunnel]).toEqual([[], [], undefined]);
    const local = mesh([backend('l1', HERE.nodeId, HERE.address)], [port(8081, 'host', 'udp')], undefined, { 'sb-l1': '172.29.0.5' }).mesh;
    expect(local.hostDnat).toEqual([{ protocol: 'udp', port: 8081, targetPort: 80, backends: ['172.29.0.5'] }]);
    expect(local.tunnel).toBeUndefined();
  });

  it('leaves out backends that are not ready or are draining', () => {
    const { mesh: wanted } = mesh(
      [backend('b1', 'n-b', '198.18.0.13'), backend('c1', 'n-c', '198.18.0.12', { draining: true }), backend('d1', 'n-d', '198.18.0.14')],
      [port(8080, 'ingress')],
      ['b1', 'c1'],
    );
    expect(wanted.forwarded.map((forwarded) => forwarded.slots)).toEqual([['198.18.0.13']]);
  });

  it('says why a local backend without a gateway-bridge address (internal network only) gets no published traffic', () => {
    const { mesh: wanted, skipped } = mesh([backend('l1', HERE.nodeId, HERE.address)], [port(8080, 'ingress'), port(8081, 'host')]);
    expect(wanted).toMatchObject({ hostDnat: [], tunnelDnat: [], forwarded: [], tunnel: undefined });
    expect(skipped.join('\n')).toMatch(/backend l1 has no gateway-bridge address \(its sandbox is only on internal networks/);
  });

  it('answers nothing for a port whose service has no ready backend anywhere', () => {
    expect(mesh([backend('b1', 'n-b', '198.18.0.13')], [port(8080, 'ingress')], []).mesh.tunnel).toBeUndefined();
  });
  it('forwards an ingress port on a node with nothing on the service’s network, from the view the managers give it', () => {
    const store = new Store();
    must(store, { type: 'registerNode', id: HERE.nodeId, name: 'here', advertiseAddr: HERE.address });
    must(store, { type: 'registerNode', id: 'n-b', name: 'b', advertiseAddr: '198.18.0.13' });
    must(store, { type: 'createNetwork', id: 'net', name: 'net', driver: '', subnet: '10.0.1.0/24' });
    must(store, { type: 'createService', id: 'svc', name: 'web', networks: ['net'], ports: [{ targetPort: 80, publishedPort: 8080 }] });
    must(store, { type: 'createSandbox', id: 'sb-b1-0123456789', name: 'b1', node: 'b' });
    must(store, { type: 'connect', endpointId: 'b1', network: 'net', sandbox: 'b1', aliases: [], service: 'web' });
    const here = store.nodeView(HERE.nodeId);
    // No network to program here: the backend is there for the mesh only.
    expect(here.networks).toEqual([]);
    const { mesh: wanted } = desiredMesh(here, { underlayDevice: 'eth0', localAddress: HERE.address, ready: new Set(['b1']), gatewayAddresses: new Map() });
    expect(wanted.forwarded).toEqual([{ protocol: 'tcp', port: 8080, slots: ['198.18.0.13'] }]);
    expect(wanted.tunnel?.peers.map((peer) => peer.address)).toEqual(['198.18.0.13']);
  });
});
