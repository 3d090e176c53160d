/**
 * Every network mode a Docker user knows, as that user meets it on a lab of 3 agents through the
 * `trellis` CLI: a bridge network local to one host (reach, masquerade, icc=false, isolation from
 * the overlay), published ports (-p and -P) answering from another host, from 127.0.0.1 and from a
 * sandbox on the same host, sandboxes with network mode none and host and one sharing another's
 * namespace, a macvlan sandbox straight on the underlay, and the refusals that change nothing.
 * Traffic stays inside the lab's namespaces (underlay 198.18.0.0/24).
 */
import { connect } from '../agent/firewall/kernel-test-traffic';
import type { Network, Sandbox } from '../proto/gen/trellis/v1/types';
import { CreatedObjects } from './support/created-objects';
import { Servers } from './support/servers';
import { eventually, kernelJson, labDown, labHost, labUp, onHost, trellis, trellisJson, trellisOk, type LabState } from './support/lab-driver';
import { expectNoTraceOn, ipOf, namespaceName, pingFromNamespace, pingFromSandbox, sandboxNamespace } from './support/overlay';

const BRIDGE_SUBNET = '10.243.1.0/24';
const QUIET_SUBNET = '10.243.2.0/24';
const OVERLAY_SUBNET = '10.243.3.0/24';
/** The lab's underlay; the macvlan sandbox takes an address no lab host has. */
const UNDERLAY_SUBNET = '198.18.0.0/24';
const MACVLAN_RANGE = '198.18.0.224/28';
const SERVER_PORT = 7100;
const BOUND_MS = 30_000;

jest.setTimeout(180_000);

interface LinkJson {
  ifname: string;
  addr_info?: Array<{ local: string }>;
}

describe('network modes (1 manager, 3 agents)', () => {
  let state: LabState;
  const created = new CreatedObjects();
  const servers = new Servers();
  const host = (name: string) => labHost(state, name);

  const serve = (namespace: string, port: number) => servers.serve(namespace, port);

  function sandboxWith(name: string, node: string, flags: string[]): void {
    trellisOk('m1', ['sandbox', 'create', name, '--node', node, ...flags]);
  }

  function linksIn(node: string, namespace: string): LinkJson[] {
    return kernelJson<LinkJson[]>(node, ['ip', '-n', namespace, '-j', 'addr', 'show']);
  }

  function namespaceExists(node: string, namespace: string): boolean {
    return kernelJson<Array<{ name: string }>>(node, ['ip', '-j', 'netns', 'list']).some((entry) => entry.name === namespace);
  }

  /** The refusal's gRPC code and the field it names are in the CLI's error; nothing is created. */
  function expectRefused(args: string[], ...says: string[]): void {
    const networksBefore = trellisJson<Network[]>('m1', ['network', 'ls', '--format', 'json']).map((network) => network.name);
    const answer = trellis('m1', args);
    expect(answer.code).not.toBe(0);
    for (const text of says) expect(answer.stderr).toContain(text);
    expect(trellisJson<Network[]>('m1', ['network', 'ls', '--format', 'json']).map((network) => network.name)).toEqual(networksBefore);
  }

  beforeAll(() => {
    state = labUp(1, 3);
  });
  afterAll(() => {
    servers.stopAll();
    try {
      for (const name of ['shared-a', 'shared-b', 'lonely', 'hosted', 'other-a', 'other-b']) trellis('m1', ['sandbox', 'rm', name]);
      created.removeWhatRemains();
    } finally {
      labDown();
    }
  });

  describe('a bridge network on one host', () => {
    it('joins its sandboxes to each other and takes them out masqueraded to the host address', async () => {
      created.network('br-net', ['--driver', 'bridge', '--node', 'a1', '--subnet', BRIDGE_SUBNET]);
      created.sandbox('left', 'a1');
      created.sandbox('right', 'a1');
      trellisOk('m1', ['network', 'connect', 'br-net', 'left']);
      trellisOk('m1', ['network', 'connect', 'br-net', 'right']);

      await eventually(() => pingFromSandbox('a1', 'left', ipOf('right', 'br-net')), 'left pings right', BOUND_MS);
      await serve(host('a2').namespace, SERVER_PORT);
      const sawSource = () => connect(sandboxNamespace('left'), 'tcp', host('a2').address, SERVER_PORT);
      await eventually(async () => (await sawSource()).startsWith('reply'), 'left reaches a2', BOUND_MS);
      expect(await sawSource()).toBe(`reply ${host('a1').address}`);
    });

    it('refuses a sandbox of another host', () => {
      created.sandbox('faraway', 'a2');
      const answer = trellis('m1', ['network', 'connect', 'br-net', 'faraway']);
      expect(answer.code).not.toBe(0);
      expect(answer.stderr).toContain('FAILED_PRECONDITION');
      expect(answer.stderr).toContain('a1');
    });

    it('with icc=false keeps its sandboxes apart while each still reaches the gateway', async () => {
      created.network('br-quiet', ['--driver', 'bridge', '--node', 'a1', '--subnet', QUIET_SUBNET, '-o', 'icc=false']);
      created.sandbox('hush-a', 'a1');
      created.sandbox('hush-b', 'a1');
      trellisOk('m1', ['network', 'connect', 'br-quiet', 'hush-a']);
      trellisOk('m1', ['network', 'connect', 'br-quiet', 'hush-b']);
      const gateway = trellisJson<Network>('m1', ['network', 'inspect', 'br-quiet']).gateway;

      await eventually(() => pingFromSandbox('a1', 'hush-a', gateway), 'hush-a pings its gateway', BOUND_MS);
      await eventually(() => pingFromSandbox('a1', 'hush-b', gateway), 'hush-b pings its gateway', BOUND_MS);
      expect(pingFromSandbox('a1', 'hush-a', ipOf('hush-b', 'br-quiet'), ['-c', '2', '-W', '1'])).toBe(false);
    });

    it('cannot reach an overlay sandbox on the same host', async () => {
      created.network('ovl-net', ['--subnet', OVERLAY_SUBNET]);
      created.sandbox('overlaid', 'a1');
      created.sandbox('overlaid-far', 'a2');
      trellisOk('m1', ['network', 'connect', 'ovl-net', 'overlaid']);
      trellisOk('m1', ['network', 'connect', 'ovl-net', 'overlaid-far']);
      await eventually(() => pingFromSandbox('a2', 'overlaid-far', ipOf('overlaid', 'ovl-net')), 'the overlay works', BOUND_MS);

      expect(pingFromSandbox('a1', 'left', ipOf('overlaid', 'ovl-net'), ['-c', '2', '-W', '1'])).toBe(false);
      expect(pingFromSandbox('a1', 'overlaid', ipOf('left', 'br-net'), ['-c', '2', '-W', '1'])).toBe(false);
    });
  });

  describe('published ports on a bridge network', () => {
    it('-p answers from another host, from 127.0.0.1 on the host and from a sandbox on the same host', async () => {
      created.sandbox('shop', 'a1');
      trellisOk('m1', ['network', 'connect', '--publish', '8080:80/tcp', 'br-net', 'shop']);
      await serve(sandboxNamespace('shop'), 80);

      const fromA2 = () => connect(host('a2').namespace, 'tcp', host('a1').address, 8080);
      await eventually(async () => (await fromA2()) === `reply ${host('a2').address}`, 'a2 reaches shop through a1:8080', BOUND_MS);
      await eventually(async () => (await connect(host('a1').namespace, 'tcp', '127.0.0.1', 8080)).startsWith('reply'), '127.0.0.1:8080 on a1 reaches shop', BOUND_MS);
      await eventually(
        async () => (await connect(sandboxNamespace('left'), 'tcp', host('a1').address, 8080)).startsWith('reply'),
        'left reaches shop through its own host address (hairpin)',
        BOUND_MS,
      );
    });

    it('-P gives every exposed port a free port of the ephemeral range, never one another endpoint of the node holds', async () => {
      created.sandbox('stall', 'a1');
      created.sandbox('kiosk', 'a1');
      trellisOk('m1', ['network', 'connect', '-P', '--expose', '80', '--expose', '53/udp', 'br-net', 'stall']);
      trellisOk('m1', ['network', 'connect', '--publish-all', '--expose', '80', 'br-net', 'kiosk']);

      const portsOf = (sandbox: string) =>
        trellisOk('m1', ['sandbox', 'port', sandbox]).split('\n').map((line) => /^(\d+)\/(tcp|udp) -> 0\.0\.0\.0:(\d+)$/.exec(line.trim()));
      const stall = portsOf('stall');
      const kiosk = portsOf('kiosk');
      expect(stall.map((match) => `${match?.[1]}/${match?.[2]}`).sort()).toEqual(['53/udp', '80/tcp']);
      const hostPorts = [...stall, ...kiosk].map((match) => Number(match?.[3]));
      for (const port of hostPorts) expect(port >= 32768 && port <= 60999).toBe(true);
      const tcpPorts = [...stall, ...kiosk].filter((match) => match?.[2] === 'tcp').map((match) => match?.[3]);
      expect(new Set(tcpPorts).size).toBe(tcpPorts.length);

      const kioskPort = Number(kiosk[0]?.[3]);
      await serve(sandboxNamespace('kiosk'), 80);
      await eventually(async () => (await connect(host('a3').namespace, 'tcp', host('a1').address, kioskPort)) === `reply ${host('a3').address}`, 'a3 reaches kiosk through -P', BOUND_MS);
    });

    it('refuses -P with nothing exposed, naming the field, and connects nothing', () => {
      created.sandbox('idle', 'a1');
      expectRefused(['network', 'connect', '-P', 'br-net', 'idle'], 'publish_all', 'INVALID_ARGUMENT');
      expect(trellisJson<Sandbox>('m1', ['sandbox', 'inspect', 'idle']).endpoints).toEqual([]);
    });
  });

  describe('sandbox network modes', () => {
    it('none: a namespace with loopback only, and no network connects', async () => {
      sandboxWith('lonely', 'a1', ['--network', 'none']);
      const namespace = sandboxNamespace('lonely');
      await eventually(() => namespaceExists('a1', namespace), 'lonely has its namespace', BOUND_MS);
      expect(linksIn('a1', namespace).map((link) => link.ifname)).toEqual(['lo']);
      expectRefused(['network', 'connect', 'br-net', 'lonely'], 'FAILED_PRECONDITION', 'none');
    });

    it("host: the host's own interfaces, and a published port refused", async () => {
      sandboxWith('hosted', 'a1', ['--network', 'host']);
      const namespace = sandboxNamespace('hosted');
      await eventually(() => namespaceExists('a1', namespace), 'hosted is attached', BOUND_MS);
      const addresses = linksIn('a1', namespace).flatMap((link) => (link.addr_info ?? []).map((info) => info.local));
      expect(addresses).toContain(host('a1').address);
      expectRefused(['network', 'connect', '--publish', '8090:80', 'br-net', 'hosted'], 'host');
    });

    it('--netns-from: the second sandbox sees the first one\'s interfaces; removal in either order leaves nothing', async () => {
      sandboxWith('shared-a', 'a1', []);
      trellisOk('m1', ['network', 'connect', 'br-net', 'shared-a']);
      sandboxWith('shared-b', 'a1', ['--netns-from', 'shared-a']);
      const namespace = sandboxNamespace('shared-a');
      expect(sandboxNamespace('shared-b')).toBe(namespace);
      await eventually(() => linksIn('a1', namespace).some((link) => link.ifname === 'eth0'), 'shared-b sees eth0', BOUND_MS);

      trellisOk('m1', ['sandbox', 'rm', 'shared-a']);
      await eventually(() => !linksIn('a1', namespace).some((link) => link.ifname === 'eth0'), 'eth0 left with shared-a', BOUND_MS);
      expect(namespaceExists('a1', namespace)).toBe(true);
      trellisOk('m1', ['sandbox', 'rm', 'shared-b']);
      await eventually(() => !namespaceExists('a1', namespace), 'the namespace left with shared-b', BOUND_MS);

      sandboxWith('other-a', 'a1', []);
      sandboxWith('other-b', 'a1', ['--network', 'container:other-a']);
      const otherNamespace = sandboxNamespace('other-a');
      await eventually(() => namespaceExists('a1', otherNamespace), 'other-a has its namespace', BOUND_MS);
      trellisOk('m1', ['sandbox', 'rm', 'other-b']);
      expect(namespaceExists('a1', otherNamespace)).toBe(true);
      trellisOk('m1', ['sandbox', 'rm', 'other-a']);
      await eventually(() => !namespaceExists('a1', otherNamespace), 'the namespace left with other-a', BOUND_MS);
    });
  });

  describe('macvlan', () => {
    it("puts a sandbox on the underlay: it answers a ping from another host's underlay address, no overlay involved", async () => {
      created.network('lan', ['--driver', 'macvlan', '--node', 'a1', '--parent', 'eth0', '--subnet', UNDERLAY_SUBNET, '--ip-range', MACVLAN_RANGE]);
      created.sandbox('onlan', 'a1');
      trellisOk('m1', ['network', 'connect', 'lan', 'onlan']);
      const address = ipOf('onlan', 'lan');
      expect(address.startsWith('198.18.0.22') || address.startsWith('198.18.0.23')).toBe(true);
      await eventually(() => pingFromNamespace('a2', host('a2').namespace, address), "a2's underlay pings onlan", BOUND_MS);
    });

    it('refuses what cannot be: no --parent, a parent the node lacks, a subnet overlapping on the same parent, ipvlan on this kernel', () => {
      expectRefused(['network', 'create', '--driver', 'macvlan', '--node', 'a1', '--subnet', '198.18.1.0/24', 'no-parent'], 'parent');
      expectRefused(['network', 'create', '--driver', 'macvlan', '--node', 'a1', '--parent', 'eth9', '--subnet', '198.18.1.0/24', 'bad-parent'], 'parent', 'eth9');
      expectRefused(['network', 'create', '--driver', 'macvlan', '--node', 'a1', '--parent', 'eth0', '--subnet', '198.18.0.0/25', 'overlapping'], 'lan', 'eth0');
      expectRefused(['network', 'create', '--driver', 'ipvlan', '--node', 'a1', '--parent', 'eth0', '--subnet', '198.18.1.0/24', 'no-ipvlan'], 'ipvlan');
      expectRefused(['network', 'create', '--driver', 'macvlan', '--node', 'a1', '--parent', 'eth0.42', '--subnet', '198.18.2.0/24', 'no-vlan'], 'VLAN');
    });

    it('refuses a published port on a macvlan endpoint', () => {
      created.sandbox('onlan-pub', 'a1');
      expectRefused(['network', 'connect', '--publish', '8095:80', 'lan', 'onlan-pub'], 'published_ports');
    });
  });

  it('leaves nothing of Trellis on any host once every sandbox and network is removed', async () => {
    servers.stopAll();
    const namespaces = trellisJson<Sandbox[]>('m1', ['sandbox', 'ls', '--format', 'json']).map(namespaceName);
    for (const name of ['lonely', 'hosted']) trellisOk('m1', ['sandbox', 'rm', name]);
    created.removeAll();
    for (const agent of state.hosts.filter((h) => h.role === 'agent')) await expectNoTraceOn(agent, BOUND_MS);
    const left = kernelJson<Array<{ name: string }>>('a1', ['ip', '-j', 'netns', 'list']).map((entry) => entry.name);
    expect(left.filter((name) => namespaces.includes(name))).toEqual([]);
    expect(onHost('a1', ['ip', 'link', 'show', 'eth0']).code).toBe(0);
  });
});
