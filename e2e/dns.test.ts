/**
 * Service discovery as users meet it, on 3 agents and two networks: real resolver clients inside
 * the sandboxes (`getent hosts`, which goes through the sandbox's resolv.conf like any program,
 * and `dig`) ask the agent's resolver on 127.0.0.11. A sandbox resolves the names of sandboxes it
 * shares a network with on other hosts (their names, hostnames, aliases), not those of others;
 * services resolve to the VIP on the asker's network, their tasks to every ready backend; names
 * outside the cluster go to the sandbox's --dns server, SERVFAIL when it is down; a large answer
 * is truncated over UDP and whole over TCP; a host whose agent stops takes its names out of the
 * answers. Cluster actions go through the `trellis` CLI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Service } from '../proto/gen/trellis/v1/types';
import { CreatedObjects } from './support/created-objects';
import { eventually, hostMetric, lab, labDown, labHost, labUp, onHost, trellisJson, trellisOk, type CommandResult, type LabState } from './support/lab-driver';
import { ipOf, sandboxNamespace } from './support/overlay';
import { trellisInParallel } from './support/parallel-cli';

const FRONT_SUBNET = '10.243.0.0/24';
const BACK_SUBNET = '10.243.1.0/24';
/** What the test's own upstream server answers for the one name it knows. */
const OUTSIDE_NAME = 'outside.example';
const OUTSIDE_ADDRESS = '203.0.113.7';
const MANY = 100;
/** In the lab's underlay, held by no host: queries to it get no answer at all. */
const SILENT_UPSTREAM = '198.18.0.250';
const BOUND_MS = 60_000;

jest.setTimeout(600_000);

interface NodeRow {
  name: string;
  status: string;
}

describe('service discovery: the embedded DNS resolver (1 manager, 3 agents)', () => {
  const created = new CreatedObjects();
  const namespaces = new Map<string, string>();
  /** Which host each sandbox is on, to run its clients there. */
  const hostOf = new Map<string, string>();
  let state: LabState;
  let upstream: ChildProcess | undefined;

  function sandbox(name: string, node: string): void {
    created.sandbox(name, node);
    hostOf.set(name, node);
  }

  /** A command inside a sandbox's namespace, on its host, with its /etc files (resolv.conf) mounted by ip netns exec. */
  function inSandbox(name: string, command: string[]): CommandResult {
    let namespace = namespaces.get(name);
    if (namespace === undefined) {
      namespace = sandboxNamespace(name);
      namespaces.set(name, namespace);
    }
    return onHost(hostOf.get(name) ?? '', ['ip', 'netns', 'exec', namespace, ...command]);
  }

  /** The addresses dig gets for NAME (A) from the resolver resolv.conf names, sorted. */
  function addresses(from: string, name: string, options: string[] = []): string[] {
    const { stdout } = inSandbox(from, ['dig', '+short', '+tries=1', '+time=5', ...options, name, 'A']);
    return stdout.split('\n').filter((line) => line !== '').sort();
  }

  /** The response code (NOERROR, NXDOMAIN, SERVFAIL) and the header flags of dig's answer. */
  function status(from: string, name: string, options: string[] = []): { rcode: string; flags: string[] } {
    const { stdout } = inSandbox(from, ['dig', '+tries=1', '+time=5', ...options, name, 'A']);
    return { rcode: /status: (\w+)/.exec(stdout)?.[1] ?? `no answer: ${stdout}`, flags: (/flags: ([a-z ]*);/.exec(stdout)?.[1] ?? '').split(' ') };
  }

  function getent(from: string, name: string): string {
    return inSandbox(from, ['getent', 'hosts', name]).stdout.trim();
  }

  const serviceOf = (name: string): Service => trellisJson<Service>('m1', ['service', 'inspect', name]);
  const readyBackends = (name: string): number => serviceOf(name).backends.filter((backend) => backend.ready).length;
  const vipOn = (service: string, network: string): string => serviceOf(service).vips.find((vip) => vip.networkName === network)?.ip ?? '';

  beforeAll(async () => {
    state = labUp(1, 3);
    created.network('front', ['--subnet', FRONT_SUBNET]);
    created.network('back', ['--subnet', BACK_SUBNET]);
    sandbox('web', 'a1');
    trellisOk('m1', ['network', 'connect', 'front', 'web', '--hostname', 'web-host', '--alias', 'www-front']);
    sandbox('client', 'a2');
    trellisOk('m1', ['network', 'connect', 'front', 'client']);
    sandbox('loner', 'a3');
    trellisOk('m1', ['network', 'connect', 'back', 'loner']);

    trellisOk('m1', ['service', 'create', 'api', '--network', 'front', '--network', 'back']);
    trellisOk('m1', ['service', 'create', 'rr', '--network', 'front', '--endpoint-mode', 'dnsrr']);
    for (const [name, node, service] of [['api1', 'a1', 'api'], ['api3', 'a3', 'api'], ['rr1', 'a1', 'rr'], ['rr3', 'a3', 'rr']] as const) {
      sandbox(name, node);
      trellisOk('m1', ['network', 'connect', 'front', name, '--service', service]);
    }
    await eventually(() => readyBackends('api') === 2 && readyBackends('rr') === 2, 'the backends ready', BOUND_MS);
  });

  afterAll(() => {
    upstream?.kill();
    // The lab's down removes every namespace and file its agents made.
    labDown();
  });

  it('resolves a sandbox name, its --hostname and its --alias from a sandbox on a shared network on another host', async () => {
    const webIp = ipOf('web', 'front');
    await eventually(() => addresses('client', 'web').join() === webIp, 'web resolves from client', BOUND_MS);
    expect(addresses('client', 'web-host')).toEqual([webIp]);
    expect(addresses('client', 'www-front')).toEqual([webIp]);
    // The C library's resolver, through the resolv.conf the agent wrote: what every program uses.
    expect(getent('client', 'web')).toMatch(new RegExp(`^${webIp.replace(/\./g, '\\.')}\\s+web$`));
    expect(getent('client', 'www-front')).toMatch(new RegExp(`^${webIp.replace(/\./g, '\\.')}\\s+www-front$`));
    // a2's agent counts what it answered and serves its one sandbox.
    const a2 = labHost(state, 'a2');
    expect(hostMetric(a2, 'trellis_dns_queries_total', 'type="A",result="answer"')).toBeGreaterThanOrEqual(5);
    expect(hostMetric(a2, 'trellis_dns_namespaces', 'state="serving"')).toBe(1);
  });

  it('answers NXDOMAIN for the same names to a sandbox that shares no network with it', () => {
    for (const name of ['web', 'web-host', 'www-front']) expect(status('loner', name).rcode).toBe('NXDOMAIN');
    expect(inSandbox('loner', ['getent', 'hosts', 'web']).code).toBe(2);
  });

  it('resolves a service to its VIP on the asker’s network, tasks.SERVICE to every ready backend, and a dnsrr service to its backends', () => {
    expect(addresses('client', 'api')).toEqual([vipOn('api', 'front')]);
    expect(addresses('loner', 'api')).toEqual([vipOn('api', 'back')]);
    expect(vipOn('api', 'front')).not.toBe(vipOn('api', 'back'));
    expect(addresses('client', 'tasks.api')).toEqual([ipOf('api1', 'front'), ipOf('api3', 'front')].sort());
    expect(addresses('client', 'rr')).toEqual([ipOf('rr1', 'front'), ipOf('rr3', 'front')].sort());
  });

  it('forwards other names to the sandbox’s --dns server, and answers SERVFAIL when that server is down or silent', async () => {
    const m1 = labHost(state, 'm1');
    upstream = await startUpstream(m1.namespace, m1.address);
    sandbox('fwd', 'a2');
    trellisOk('m1', ['network', 'connect', 'front', 'fwd', '--dns', m1.address]);
    await eventually(() => addresses('fwd', OUTSIDE_NAME).join() === OUTSIDE_ADDRESS, 'the upstream’s answer through the resolver', BOUND_MS);
    expect(status('fwd', 'unknown.example').rcode).toBe('NXDOMAIN');
    // Cluster names are still the resolver's own.
    expect(addresses('fwd', 'web')).toEqual([ipOf('web', 'front')]);

    const stopped = new Promise((resolve) => upstream?.once('exit', resolve));
    upstream.kill();
    await stopped;
    upstream = undefined;
    expect(status('fwd', OUTSIDE_NAME).rcode).toBe('SERVFAIL');
    expect(hostMetric(labHost(state, 'a2'), 'trellis_dns_upstream_failures_total', `upstream="${m1.address}:53"`)).toBeGreaterThanOrEqual(1);
    // A server that never answers (an underlay address nobody has): SERVFAIL after the resolver's
    // timeout, before dig's own 5 s would pass.
    sandbox('fwd-silent', 'a2');
    trellisOk('m1', ['network', 'connect', 'front', 'fwd-silent', '--dns', SILENT_UPSTREAM]);
    await eventually(() => addresses('fwd-silent', 'web').length === 1, 'fwd-silent resolves cluster names', BOUND_MS);
    expect(status('fwd-silent', OUTSIDE_NAME).rcode).toBe('SERVFAIL');
  });

  it(`truncates tasks.SERVICE of ${MANY} backends over UDP and answers it whole over TCP`, async () => {
    trellisOk('m1', ['service', 'create', 'many', '--network', 'front']);
    const names = Array.from({ length: MANY }, (_, index) => `many${index}`);
    const nodes = ['a1', 'a2', 'a3'];
    await trellisInParallel('m1', names.map((name, index) => ['sandbox', 'create', name, '--node', nodes[index % nodes.length] ?? 'a1']), 8);
    await trellisInParallel('m1', names.map((name) => ['network', 'connect', 'front', name, '--service', 'many']), 8);
    await eventually(() => readyBackends('many') === MANY, `${MANY} backends ready`, 5 * BOUND_MS);

    const udp = status('client', 'tasks.many', ['+ignore', '+notcp']);
    expect(udp.rcode).toBe('NOERROR');
    expect(udp.flags).toContain('tc');
    const overTcp = addresses('client', 'tasks.many', ['+tcp']);
    expect(overTcp).toHaveLength(MANY);
    expect(new Set(overTcp).size).toBe(MANY);
    // Without +ignore dig retries the truncated answer over TCP by itself, as resolvers do.
    expect(addresses('client', 'tasks.many')).toEqual(overTcp);
  });

  it('takes the names of a host whose agent stopped out of the answers once it is marked down, and serves that host’s sandboxes again once it is back', async () => {
    const nodeStatus = (name: string): string | undefined =>
      trellisJson<NodeRow[]>('m1', ['node', 'ls', '--format', 'json']).find((node) => node.name === name)?.status;
    expect(addresses('client', 'api3')).toEqual([ipOf('api3', 'front')]);
    lab(['stop', 'a3']);
    await eventually(() => nodeStatus('a3') === 'NODE_STATUS_DOWN', 'a3 marked down', BOUND_MS);
    await eventually(() => status('client', 'api3').rcode === 'NXDOMAIN', 'api3 out of the answers', BOUND_MS);
    expect(addresses('client', 'tasks.api')).toEqual([ipOf('api1', 'front')]);
    expect(addresses('client', 'rr')).toEqual([ipOf('rr1', 'front')]);
    expect(addresses('client', 'web')).toEqual([ipOf('web', 'front')]);

    lab(['start', 'a3']);
    await eventually(() => addresses('loner', 'api').join() === vipOn('api', 'back'), 'the restarted a3 answers its sandboxes again', BOUND_MS);
    await eventually(() => addresses('client', 'tasks.api').length === 2, 'api3 back in the answers', BOUND_MS);
  });
});

/**
 * The test's upstream DNS server, in a lab host's namespace on its underlay address: A OUTSIDE_ADDRESS
 * for OUTSIDE_NAME, NXDOMAIN for anything else. Resolves once it listens.
 */
function startUpstream(namespace: string, address: string): Promise<ChildProcess> {
  const script = `
    const dgram = require('node:dgram');
    const packet = require(${JSON.stringify(require.resolve('dns-packet'))});
    const socket = dgram.createSocket('udp4');
    socket.on('message', (message, from) => {
      const query = packet.decode(message);
      const known = query.questions.filter((q) => q.name === ${JSON.stringify(OUTSIDE_NAME)} && q.type === 'A');
      const answers = known.map((q) => ({ type: 'A', name: q.name, ttl: 60, data: ${JSON.stringify(OUTSIDE_ADDRESS)} }));
      const flags = packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | (known.length > 0 ? 0 : 3);
      socket.send(packet.encode({ id: query.id, type: 'response', flags, questions: query.questions, answers }), from.port, from.address);
    });
    socket.bind(53, ${JSON.stringify(address)}, () => process.stdout.write('listening\\n'));`;
  const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`the upstream DNS server exited with ${code}`)));
  });
}
