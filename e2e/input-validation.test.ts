import { networkNetnsName } from '../agent/kernel/names';
import { AGENT_METRICS_PORT, MANAGER_METRICS_PORT, MANAGER_PORT } from './lab/plan';
import { labDown, labHost, labUp, trellis, trellisJson, trellisOk, type LabState } from './support/lab-driver';

interface SandboxJson {
  name: string;
  endpoints: unknown[];
}

interface NodeJson {
  gatewaySubnet: string;
  reservedPorts: { protocol: string; port: number; reason: string }[];
}

/**
 * What a user typing the CLI sees when asking for what Trellis owns: ports the overlay and the
 * daemons use, namespaces of the agents and the lab, subnets the nodes route themselves, and
 * numbers no field takes. Each is refused with the reason, and nothing is created.
 */
describe('a lab cluster refuses what Trellis owns (1 manager, 1 agent)', () => {
  let state: LabState;

  beforeAll(() => {
    state = labUp(1, 1);
    trellisOk('a1', ['network', 'create', 'blue', '--subnet', '10.231.9.0/24']);
    trellisOk('a1', ['sandbox', 'create', 'web', '--node', 'a1']);
  });
  afterAll(() => labDown());

  const endpointsOfWeb = () => trellisJson<SandboxJson>('a1', ['sandbox', 'inspect', 'web']).endpoints;

  it('refuses --publish 4789:80/udp, the VXLAN port, and connects nothing', () => {
    const answer = trellis('a1', ['network', 'connect', 'blue', 'web', '--publish', '4789:80/udp']);
    expect(answer.code).not.toBe(0);
    expect(answer.stderr).toContain('published_ports: 4789/udp is the VXLAN port of this cluster');
    expect(answer.stderr).toContain('INVALID_ARGUMENT');
    expect(endpointsOfWeb()).toEqual([]);
  });

  it.each([
    [MANAGER_PORT, 'is the port of manager 198.18.0.1:4240 (its gRPC API and Raft)'],
    [MANAGER_METRICS_PORT, 'is the metrics port of manager'],
    [AGENT_METRICS_PORT, `is reserved on node "a1" (the agent's metrics port)`],
  ])("refuses --publish %i:80, a port of the cluster's daemons", (port, why) => {
    const answer = trellis('a1', ['network', 'connect', 'blue', 'web', '--publish', `${port}:80`]);
    expect(answer.code).not.toBe(0);
    expect(answer.stderr).toContain(`published_ports: ${port}/tcp ${why}`);
    expect(endpointsOfWeb()).toEqual([]);
  });

  it("shows what the agent reported: its gateway subnet and its metrics port", () => {
    const node = trellisJson<NodeJson>('a1', ['node', 'inspect', 'a1']);
    expect(node.gatewaySubnet).toBe('172.29.0.0/16');
    expect(node.reservedPorts).toEqual([{ protocol: 'tcp', port: AGENT_METRICS_PORT, reason: "the agent's metrics port" }]);
  });

  it("refuses --netns of an agent's network namespace, of an agent's sandbox and of a lab host, creating nothing", () => {
    // The namespace the agent on a1 made for "blue", once web is on it.
    trellisOk('a1', ['network', 'connect', 'blue', 'web']);
    const vni = trellisJson<{ vni: number }>('a1', ['network', 'inspect', 'blue']).vni;
    const own = networkNetnsName(labHost(state, 'a1').address, vni);
    for (const [netns, owner] of [
      [`/run/netns/${own}`, "an agent's network namespace"],
      ['/run/netns/trsb-0123456789', "an agent's own sandbox namespace"],
      ['/run/netns/trlab-a1', "one of the lab's hosts"],
    ]) {
      const answer = trellis('a1', ['sandbox', 'create', 'squatter', '--node', 'a1', '--netns', netns]);
      expect(answer.code).not.toBe(0);
      expect(answer.stderr).toContain(`netns: "${netns}" is ${owner}`);
    }
    expect(trellisJson<SandboxJson[]>('a1', ['sandbox', 'ls', '--format', 'json']).map((sandbox) => sandbox.name)).toEqual(['web']);
  });

  it("refuses a subnet inside the agents' gateway subnet, and a loopback one, saying why", () => {
    const gateway = trellis('a1', ['network', 'create', 'inside', '--subnet', '172.29.4.0/24']);
    expect(gateway.code).not.toBe(0);
    expect(gateway.stderr).toContain('172.29.4.0/24 overlaps 172.29.0.0/16, the gateway subnet of node "a1"');
    const loopback = trellis('a1', ['network', 'create', 'inside', '--subnet', '127.1.0.0/16']);
    expect(loopback.code).not.toBe(0);
    expect(loopback.stderr).toContain('127.1.0.0/16 is not usable: 127.0.0.0/8 is loopback');
  });

  it('refuses --vni and --mtu values no request can carry before sending, naming the flag', () => {
    for (const [flag, value] of [['--vni', '4294967296'], ['--mtu', '4294967296']]) {
      const answer = trellis('a1', ['network', 'create', 'huge', '--subnet', '10.231.10.0/24', flag, value]);
      expect(answer.code).not.toBe(0);
      expect(answer.stderr).toContain(`${flag}: ${value} is out of range`);
      expect(answer.stderr).not.toContain('INTERNAL');
    }
    expect(trellis('a1', ['network', 'inspect', 'huge']).code).not.toBe(0);
  });
});
