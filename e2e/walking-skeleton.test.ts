import type { Network } from '../proto/gen/trellis/v1/types';
import {
  eventually,
  itOnTheBuild,
  lab,
  labDown,
  labHost,
  labUp,
  logSince,
  logSize,
  onHost,
  onHostInBackground,
  trellis,
  trellisJson,
  trellisOk,
  type LabHost,
  type LabState,
} from './support/lab-driver';
import { expectNoTraceOn, ipOf, pingFromSandbox, sandboxNamespace, trellisLinks } from './support/overlay';

const subnet = '10.231.0.0/24';

describe('walking skeleton: a two-host overlay through the CLI', () => {
  let state: LabState;
  const agents = (): LabHost[] => state.hosts.filter((h) => h.role === 'agent');

  beforeAll(() => {
    state = labUp(1, 2);
  });
  afterAll(() => labDown());

  it('connects sandboxes on two hosts that ping each other over the overlay', async () => {
    trellisOk('m1', ['network', 'create', '--driver', 'overlay', '--subnet', subnet, 'blue']);
    trellisOk('m1', ['sandbox', 'create', 'left', '--node', 'a1']);
    trellisOk('m1', ['sandbox', 'create', 'right', '--node', 'a2']);
    trellisOk('m1', ['network', 'connect', 'blue', 'left']);
    trellisOk('m1', ['network', 'connect', 'blue', 'right']);

    const network = trellisJson<Network>('m1', ['network', 'inspect', 'blue']);
    expect(network.endpoints.map((e) => e.sandboxName).sort()).toEqual(['left', 'right']);
    for (const endpoint of network.endpoints) expect(endpoint.ip).toMatch(/^10\.231\.0\.\d+$/);

    const rightIp = ipOf('right', 'blue');
    const leftIp = ipOf('left', 'blue');
    await eventually(() => pingFromSandbox('a1', 'left', rightIp), 'left pings right');
    expect(pingFromSandbox('a2', 'right', leftIp)).toBe(true);
  });

  it('gives a sandbox its hostname, --add-host entries and the agent’s resolver (whose upstream --dns is) in the files ip netns exec mounts', async () => {
    trellisOk('m1', ['sandbox', 'create', 'named', '--node', 'a1']);
    trellisOk('m1', ['network', 'connect', '--hostname', 'web-named', '--add-host', 'db.local:10.9.9.9', '--dns', '198.18.0.53', 'blue', 'named']);
    const namedNetns = sandboxNamespace('named');
    const read = (file: string) => onHost('a1', ['ip', 'netns', 'exec', namedNetns, 'cat', file]).stdout;
    await eventually(() => read('/etc/hosts').includes(`${ipOf('named', 'blue')}\tweb-named\n`), 'hosts written');
    expect(read('/etc/resolv.conf')).toBe('nameserver 127.0.0.11\noptions ndots:0\n');
    // Only files /etc has may sit in /etc/netns/NAME: ip netns exec complains about any other it cannot mount.
    expect(onHost('a1', ['ip', 'netns', 'exec', namedNetns, 'true']).stderr).toBe('');
    expect(read('/etc/hosts')).toContain('10.9.9.9\tdb.local\n');
    trellisOk('m1', ['sandbox', 'rm', 'named']);
    await eventually(() => !onHost('a1', ['ls', '/etc/netns']).stdout.includes(namedNetns), 'files removed with the sandbox');
  });

  it('restarts an agent without recreating kernel objects or losing one of a ping every 10 ms', async () => {
    // The network's namespace with its VXLAN device, bridge and veth end; the gateway bridge and veth of left's way out.
    const before = trellisLinks(labHost(state, 'a1'));
    expect(before.length).toBeGreaterThanOrEqual(5);
    const leftIp = ipOf('left', 'blue');
    const marker = logSize(state, 'a1');

    const pings = onHostInBackground('a2', ['ip', 'netns', 'exec', sandboxNamespace('right'), 'ping', '-n', '-q', '-i', '0.01', '-c', '600', leftIp]);
    lab(['stop', 'a1']);
    lab(['start', 'a1']);
    await eventually(
      () => trellisJson<Array<{ name: string; status: string }>>('m1', ['node', 'ls', '--format', 'json']).some((n) => n.name === 'a1' && n.status === 'NODE_STATUS_READY'),
      'a1 back in session',
    );
    await eventually(() => logSince(state, 'a1', marker).includes('"revision"'), 'a1 reconciled after restart');
    const summary = (await pings).stdout;

    expect(summary).toMatch(/600 packets transmitted, 600 received/);
    expect(trellisLinks(labHost(state, 'a1'))).toEqual(before);
    expect(logSince(state, 'a1', marker)).not.toContain('kernel reconciled');
  });

  itOnTheBuild()('keeps the data plane whole while every manager is down for 60 s: not one of a ping every 10 ms is lost', async () => {
    const leftIp = ipOf('left', 'blue');
    const pings = onHostInBackground('a2', ['ip', 'netns', 'exec', sandboxNamespace('right'), 'ping', '-n', '-q', '-i', '0.01', '-w', '60', leftIp]);
    lab(['stop', 'm1']);
    const summary = (await pings).stdout;
    lab(['start', 'm1']);
    const sent = /(\d+) packets transmitted, (\d+) received/.exec(summary);
    expect(Number(sent?.[1])).toBeGreaterThan(1000);
    expect(sent?.[2]).toBe(sent?.[1]);
    await eventually(
      () => trellisJson<Array<{ name: string; status: string }>>('m1', ['node', 'ls', '--format', 'json']).every((n) => n.status === 'NODE_STATUS_READY'),
      'both agents back in session',
      30_000,
    );
  }, 120_000);

  it('keeps every network and endpoint across a manager restart', async () => {
    const before = trellisJson<Network[]>('m1', ['network', 'ls', '--format', 'json']);
    lab(['stop', 'm1']);
    lab(['start', 'm1']);
    await eventually(() => trellis('m1', ['network', 'ls']).code === 0, 'manager serving again');
    expect(trellisJson<Network[]>('m1', ['network', 'ls', '--format', 'json'])).toEqual(before);
  });

  itOnTheBuild().each([
    ['an invalid CIDR', 'INVALID_ARGUMENT', 'subnet', ['network', 'create', '--subnet', '10.0.0.0/33', 'bad1']],
    ['a gateway outside the subnet', 'INVALID_ARGUMENT', 'gateway', ['network', 'create', '--subnet', '10.232.0.0/24', '--gateway', '10.9.9.1', 'bad2']],
    ['a duplicate network name', 'ALREADY_EXISTS', 'name', ['network', 'create', '--subnet', '10.233.0.0/24', 'blue']],
    ['an unknown network', 'NOT_FOUND', 'network', ['network', 'connect', 'nosuchnet', 'left']],
    ['an unknown sandbox', 'NOT_FOUND', 'sandbox', ['network', 'connect', 'blue', 'nosuchbox']],
    ['a static IP outside the subnet', 'INVALID_ARGUMENT', 'ip', ['network', 'connect', '--ip', '10.99.0.5', 'blue', 'spare']],
    ['a static IP already taken', 'ALREADY_EXISTS', 'ip', ['network', 'connect', '--ip', '<left-ip>', 'blue', 'spare']],
  ])('refuses %s with %s naming %s, changing nothing', (_what, code, field, args) => {
    if (!trellis('m1', ['sandbox', 'inspect', 'spare']).stdout) trellisOk('m1', ['sandbox', 'create', 'spare', '--node', 'a2']);
    const before = [trellisOk('m1', ['network', 'ls', '--format', 'json']), trellisOk('m1', ['sandbox', 'ls', '--format', 'json'])];
    const resolved = args.map((arg) => (arg === '<left-ip>' ? ipOf('left', 'blue') : arg));

    const result = trellis('m1', resolved);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(code);
    expect(result.stderr).toContain(field);
    expect([trellisOk('m1', ['network', 'ls', '--format', 'json']), trellisOk('m1', ['sandbox', 'ls', '--format', 'json'])]).toEqual(before);
  });

  it('leaves no trace of a network on any host after disconnect and rm: no namespace, link, gateway bridge or firewall table', async () => {
    trellisOk('m1', ['network', 'disconnect', 'blue', 'left']);
    trellisOk('m1', ['network', 'disconnect', 'blue', 'right']);
    trellisOk('m1', ['network', 'rm', 'blue']);

    // The sandboxes stay, on no network: none needs a way out, so nothing of Trellis's is left in any host.
    for (const host of agents()) await expectNoTraceOn(host);
    expect(trellisJson<Network[]>('m1', ['network', 'ls', '--format', 'json'])).toEqual([]);
  });
});
