/**
 * The data plane as its users meet it, on 3 agents: a sandbox on two networks that keeps them
 * apart, networks with one subnet that never meet, a disconnect that takes one interface only, a
 * way out masqueraded to the host's address (none on --internal networks), and published ports.
 * Cluster actions go through the `trellis` CLI only; traffic stays inside the lab's namespaces.
 */
import { connect } from '../agent/firewall/kernel-test-traffic';
import type { Sandbox } from '../proto/gen/trellis/v1/types';
import { CreatedObjects } from './support/created-objects';
import { Servers } from './support/servers';
import { eventually, kernelJson, labDown, labHost, labUp, mustSucceed, onHost, trellisJson, trellisOk, type LabState } from './support/lab-driver';
import { endpointOf, expectNoTraceOn, ipOf, namespaceName, pingFromSandbox, sandboxNamespace } from './support/overlay';

const FRONT_SUBNET = '10.240.1.0/24';
const BACK_SUBNET = '10.240.2.0/24';
const TWIN_SUBNET = '10.241.0.0/24';
/** Outside every overlay subnet of this cluster: where a sandbox's way out may lead. */
const NOT_OVERLAY_ADDRESS = '10.255.0.1';
const SERVER_PORT = 7000;
const BOUND_MS = 30_000;

// Each step is many CLI calls and kernel reads, each a process or two.
jest.setTimeout(180_000);

interface AddressJson {
  ifname: string;
}
interface RouteJson {
  dst: string;
  dev: string;
}
interface NeighbourJson {
  dst: string;
  lladdr?: string;
}

describe('data plane (1 manager, 3 agents)', () => {
  let state: LabState;
  const created = new CreatedObjects();
  const servers = new Servers();
  const host = (name: string) => labHost(state, name);

  const serve = (namespace: string, port: number) => servers.serve(namespace, port);

  /** Runs `ip -j ARGS` inside a sandbox of `node`. */
  function inSandbox<T>(node: string, sandbox: string, args: string[]): T {
    return kernelJson<T>(node, ['ip', '-n', sandboxNamespace(sandbox), ...args]);
  }

  beforeAll(() => {
    state = labUp(1, 3);
  });
  afterAll(() => {
    servers.stopAll();
    try {
      created.removeWhatRemains();
    } finally {
      labDown();
    }
  });

  describe('a sandbox on two networks', () => {
    it('reaches the back-net sandboxes on the other hosts', async () => {
      created.network('front-net', ['--subnet', FRONT_SUBNET]);
      created.network('back-net', ['--subnet', BACK_SUBNET]);
      created.sandbox('web', 'a1');
      created.sandbox('was', 'a2');
      created.sandbox('db', 'a3');
      trellisOk('m1', ['network', 'connect', 'front-net', 'web']);
      for (const sandbox of ['web', 'was', 'db']) trellisOk('m1', ['network', 'connect', 'back-net', sandbox]);

      await eventually(() => pingFromSandbox('a1', 'web', ipOf('was', 'back-net')), 'web pings was', BOUND_MS);
      await eventually(() => pingFromSandbox('a1', 'web', ipOf('db', 'back-net')), 'web pings db', BOUND_MS);
    });

    it("keeps back-net's sandboxes off front-net, while their way out reaches the underlay", async () => {
      const webFront = ipOf('web', 'front-net');
      // The default route through gw0 exists and works: egress is there, so front-net is not missed for want of a route.
      await eventually(() => pingFromSandbox('a2', 'was', host('a3').address), 'was reaches a3 through its way out', BOUND_MS);
      await eventually(() => pingFromSandbox('a3', 'db', host('a2').address), 'db reaches a2 through its way out', BOUND_MS);
      expect(pingFromSandbox('a2', 'was', webFront)).toBe(false);
      expect(pingFromSandbox('a3', 'db', webFront)).toBe(false);
    });

    it('drops front-net addresses at the gateway even where the underlay would carry them: isolation, not a missing route', async () => {
      const webFront = ipOf('web', 'front-net');
      const decoy = host('m1');
      // m1 runs no agent: it answers for web's front-net address and for one outside every overlay, and a2 routes both to it.
      const setUp = [
        ['m1', 'ip', 'addr', 'add', `${webFront}/32`, 'dev', 'lo'],
        ['m1', 'ip', 'addr', 'add', `${NOT_OVERLAY_ADDRESS}/32`, 'dev', 'lo'],
        ['a2', 'ip', 'route', 'add', FRONT_SUBNET, 'via', decoy.address],
        ['a2', 'ip', 'route', 'add', `${NOT_OVERLAY_ADDRESS}/32`, 'via', decoy.address],
      ];
      try {
        for (const [node = '', ...command] of setUp) mustSucceed(command.join(' '), onHost(node, command));
        await eventually(() => pingFromSandbox('a2', 'was', NOT_OVERLAY_ADDRESS), 'was reaches the decoy outside the overlays', BOUND_MS);
        expect(pingFromSandbox('a2', 'was', webFront)).toBe(false);
      } finally {
        for (const [node = '', ...command] of setUp) onHost(node, command.map((word) => (word === 'add' ? 'del' : word)));
      }
    });

    it('loses only the interface of the network it is disconnected from', async () => {
      const front = endpointOf('web', 'front-net').interfaceName;
      const addresses = () => inSandbox<AddressJson[]>('a1', 'web', ['addr', 'show']);
      const routes = () => inSandbox<RouteJson[]>('a1', 'web', ['route', 'show']);
      const addressesBefore = addresses();
      const routesBefore = routes();
      expect(addressesBefore.map((a) => a.ifname)).toContain(front);

      trellisOk('m1', ['network', 'disconnect', 'front-net', 'web']);

      await eventually(() => !addresses().some((a) => a.ifname === front), `web's ${front} gone`, BOUND_MS);
      expect(addresses()).toEqual(addressesBefore.filter((a) => a.ifname !== front));
      expect(routes()).toEqual(routesBefore.filter((r) => r.dev !== front));
      expect(pingFromSandbox('a1', 'web', ipOf('was', 'back-net'))).toBe(true);
      expect(pingFromSandbox('a1', 'web', ipOf('db', 'back-net'))).toBe(true);
    });
  });

  describe('two networks with the same subnet', () => {
    const pairs = [
      { network: 'twin-a', near: 'pa1', far: 'pa2', macs: undefined },
      { network: 'twin-b', near: 'pb1', far: 'pb2', macs: ['02:42:0a:f1:0b:0a', '02:42:0a:f1:0b:14'] },
    ] as const;
    const nearIp = '10.241.0.10';
    const farIp = '10.241.0.20';

    it('carry traffic independently: same addresses, and each sandbox learns its own network peer', async () => {
      for (const { network, near, far, macs } of pairs) {
        created.network(network, ['--subnet', TWIN_SUBNET]);
        created.sandbox(near, 'a1');
        created.sandbox(far, 'a2');
        // Same IPs in both networks; MACs derived from them would match too, so twin-b's are given.
        trellisOk('m1', ['network', 'connect', '--ip', nearIp, ...(macs ? ['--mac', macs[0]] : []), network, near]);
        trellisOk('m1', ['network', 'connect', '--ip', farIp, ...(macs ? ['--mac', macs[1]] : []), network, far]);
      }
      expect(endpointOf('pa2', 'twin-a').mac).not.toBe(endpointOf('pb2', 'twin-b').mac);

      for (const { network, near, far } of pairs) {
        await eventually(() => pingFromSandbox('a1', near, farIp), `${near} pings ${farIp} on ${network}`, BOUND_MS);
        await eventually(() => pingFromSandbox('a2', far, nearIp), `${far} pings ${nearIp} on ${network}`, BOUND_MS);
        const learned = (node: string, sandbox: string, ip: string) =>
          inSandbox<NeighbourJson[]>(node, sandbox, ['neigh', 'show', ip]).map((entry) => entry.lladdr);
        expect(learned('a1', near, farIp)).toEqual([endpointOf(far, network).mac]);
        expect(learned('a2', far, nearIp)).toEqual([endpointOf(near, network).mac]);
      }
    });
  });

  describe('the way out', () => {
    it("takes a sandbox on a non-internal network to another host's underlay, masqueraded to its own host's address", async () => {
      created.network('outside-net', ['--subnet', '10.240.3.0/24']);
      created.network('inside-net', ['--subnet', '10.240.4.0/24', '--internal']);
      created.sandbox('roamer', 'a1');
      created.sandbox('hermit', 'a1');
      trellisOk('m1', ['network', 'connect', 'outside-net', 'roamer']);
      trellisOk('m1', ['network', 'connect', 'inside-net', 'roamer']);
      trellisOk('m1', ['network', 'connect', 'inside-net', 'hermit']);
      await serve(host('a2').namespace, SERVER_PORT);

      const sawSource = () => connect(sandboxNamespace('roamer'), 'tcp', host('a2').address, SERVER_PORT);
      await eventually(async () => (await sawSource()).startsWith('reply'), 'roamer reaches a2', BOUND_MS);
      expect(await sawSource()).toBe(`reply ${host('a1').address}`);
    });

    it('is not there for a sandbox only on an --internal network: no gw0, no default route, the underlay unreachable', async () => {
      await eventually(() => pingFromSandbox('a1', 'hermit', ipOf('roamer', 'inside-net')), 'hermit pings roamer on inside-net', BOUND_MS);
      expect(inSandbox<AddressJson[]>('a1', 'hermit', ['addr', 'show']).map((a) => a.ifname).sort()).toEqual(['eth0', 'lo']);
      expect(inSandbox<RouteJson[]>('a1', 'hermit', ['route', 'show', 'default'])).toEqual([]);
      expect(await connect(sandboxNamespace('hermit'), 'tcp', host('a2').address, SERVER_PORT)).toBe('error ENETUNREACH');
    });
  });

  describe('a published port', () => {
    it("forwards the host's port to the sandbox, from another host and from the host itself, until disconnected", async () => {
      created.sandbox('shop', 'a1');
      // On back-net too, so shop keeps its way out after the disconnect: only the port rule can make the difference then.
      trellisOk('m1', ['network', 'connect', 'back-net', 'shop']);
      trellisOk('m1', ['network', 'connect', '--publish', '8080:80/tcp', 'outside-net', 'shop']);
      expect(endpointOf('shop', 'outside-net').publishedPorts).toEqual([{ protocol: 'tcp', hostPort: 8080, port: 80 }]);
      await eventually(() => inSandbox<AddressJson[]>('a1', 'shop', ['addr', 'show']).some((a) => a.ifname === 'gw0'), 'shop has its way out', BOUND_MS);
      const server = await serve(sandboxNamespace('shop'), 80);
      const fromHost = (node: string) => connect(host(node).namespace, 'tcp', host('a1').address, 8080);

      // The sandbox sees who called: DNAT alone, no masquerade on the way in.
      await eventually(async () => (await fromHost('a2')) === `reply ${host('a2').address}`, 'a2 reaches shop through a1:8080', BOUND_MS);
      expect(await fromHost('a3')).toBe(`reply ${host('a3').address}`);
      expect(await fromHost('a1')).toBe(`reply ${host('a1').address}`);
      // 127.0.0.1 on the host is no DNAT's (that would need route_localnet): the agent's loopback proxy relays, from the host's gateway-bridge address.
      const gatewayAddress = kernelJson<Array<{ addr_info: Array<{ local: string }> }>>('a1', ['ip', '-j', 'addr', 'show', 'dev', 'trellis_gw'])[0]?.addr_info[0]?.local;
      const fromLoopback = () => connect(host('a1').namespace, 'tcp', '127.0.0.1', 8080);
      await eventually(async () => (await fromLoopback()) === `reply ${gatewayAddress}`, '127.0.0.1:8080 on a1 reaches shop', BOUND_MS);
      expect(mustSucceed('route_localnet on a1', onHost('a1', ['sysctl', '-n', 'net.ipv4.conf.all.route_localnet'])).stdout.trim()).toBe('0');

      trellisOk('m1', ['network', 'disconnect', 'outside-net', 'shop']);
      await eventually(async () => !(await fromHost('a2')).startsWith('reply'), 'a1:8080 no longer leads to shop', BOUND_MS);
      // a1 itself answers now, with nothing listening there; shop and its server are still up behind gw0.
      expect(await fromHost('a2')).toBe('refused');
      await eventually(async () => (await fromLoopback()) === 'refused', "a1's loopback proxy no longer listens on 8080", BOUND_MS);
      expect(inSandbox<AddressJson[]>('a1', 'shop', ['addr', 'show']).map((a) => a.ifname)).toContain('gw0');
      expect(server.exitCode).toBeNull();
    });
  });

  it('leaves nothing of Trellis on any host once every sandbox and network is removed', async () => {
    servers.stopAll();
    const namespaces = trellisJson<Sandbox[]>('m1', ['sandbox', 'ls', '--format', 'json']).map(namespaceName);
    created.removeAll();
    for (const agent of state.hosts.filter((h) => h.role === 'agent')) await expectNoTraceOn(agent, BOUND_MS);
    const left = kernelJson<Array<{ name: string }>>('a1', ['ip', 'netns', 'list']).map((n) => n.name);
    expect(left.filter((name) => namespaces.includes(name))).toEqual([]);
  });
});
