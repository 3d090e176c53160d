import type { ServiceView } from '../../proto/gen/trellis/v1/dispatcher';
import { local, network, remote, sampleView, sandbox } from '../reconcile/test-fixtures';
import { desiredBalancing } from './desired-balancing';

const other = { ...network, id: 'n2', name: 'back', vni: 101, subnet: '10.231.2.0/24', gateway: '10.231.2.1' };
const web: ServiceView = {
  id: 'svc-web', name: 'web', endpointMode: 'vip',
  ports: [
    { protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: 'ingress' },
    { protocol: 'tcp', targetPort: 80, publishedPort: 8081, publishMode: 'host' },
    { protocol: 'udp', targetPort: 53, publishedPort: 53, publishMode: 'ingress' },
  ],
  vips: [{ networkId: 'n1', networkName: 'front', ip: '10.231.1.100' }],
  drainTimeoutSeconds: 30, tcpIdleTimeoutSeconds: 86400, udpIdleTimeoutSeconds: 900, revision: 7,
};
const backendA = { ...remote, id: 'eb1', ip: '10.231.1.10', serviceId: 'svc-web' };
const backendB = { ...remote, id: 'eb2', ip: '10.231.1.11', serviceId: 'svc-web' };

describe('desired balancing', () => {
  it("balances a VIP of the sandbox's network on its target ports over the ready backends", () => {
    const view = sampleView({ endpoints: [local, backendA, backendB], services: [web] });
    expect(desiredBalancing(view, new Set(['eb1', 'eb2']))).toEqual([
      {
        netns: sandbox.netnsName,
        services: [
          {
            key: 'svc-web/n1', vip: '10.231.1.100',
            ports: [{ protocol: 'tcp', port: 80, targetPort: 80 }, { protocol: 'udp', port: 53, targetPort: 53 }],
            backends: [{ ip: '10.231.1.10', accepting: true }, { ip: '10.231.1.11', accepting: true }],
            tcpIdleTimeoutSeconds: 86400, udpIdleTimeoutSeconds: 900,
          },
        ],
      },
    ]);
  });

  it('leaves out backends that are not ready, and keeps a draining one without new flows', () => {
    const draining = { ...backendB, draining: true };
    const view = sampleView({ endpoints: [local, backendA, draining], services: [web] });
    expect(desiredBalancing(view, new Set(['eb2']))[0]?.services[0]?.backends).toEqual([{ ip: '10.231.1.11', accepting: false }]);
    expect(desiredBalancing(view, new Set())[0]?.services[0]?.backends).toEqual([]);
  });

  it('gives a sandbox no VIP of a network it is not attached to, and dnsrr services no VIP at all', () => {
    const elsewhere = { ...web, id: 'svc-db', vips: [{ networkId: 'n2', networkName: 'back', ip: '10.231.2.100' }] };
    const dnsrr = { ...web, id: 'svc-rr', endpointMode: 'dnsrr', vips: [] };
    const view = sampleView({ networks: [network, other], endpoints: [local, backendA], services: [elsewhere, dnsrr] });
    expect(desiredBalancing(view, new Set(['eb1']))).toEqual([{ netns: sandbox.netnsName, services: [] }]);
  });

  it('balances a shared namespace once, with the VIPs of whichever sandbox connects, and nothing in the host namespace', () => {
    const sidecar = { ...sandbox, id: 's0', name: 'sidecar', sharesNetns: true };
    const shared = sampleView({ sandboxes: [sidecar, { ...sandbox, sharesNetns: true }], endpoints: [local, backendA], services: [web] });
    expect(desiredBalancing(shared, new Set(['eb1'])).map(({ netns, services }) => [netns, services.map((s) => s.key)])).toEqual([
      [sandbox.netnsName, ['svc-web/n1']],
    ]);
    const onHost = sampleView({ sandboxes: [{ ...sandbox, networkMode: 'host' }], endpoints: [backendA], services: [web] });
    expect(desiredBalancing(onHost, new Set(['eb1']))).toEqual([]);
  });
});
