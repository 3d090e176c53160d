import { status, type ServiceError } from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectNetworkRequest, CreateNetworkRequest } from '../../proto/gen/trellis/v1/control';
import {
  RegisterRequest,
  type EndpointReadiness,
  type ManagerMessage,
  type MemberDigest,
  type MemberEntries,
  type MemberProgrammed,
  type NodeView,
} from '../../proto/gen/trellis/v1/dispatcher';
import { NodeStatus } from '../../proto/gen/trellis/v1/types';
import { gossipEntryDigest } from '../../proto/runtime/gossip-digest';
import { sampleValue } from '../../proto/runtime/prometheus-text';
import { callUnary } from '../../proto/runtime/unary-call';
import { startApiManager, stopApiManager, type ApiManager } from '../api/test-api-manager';

/*
 * The leader's side of gossip over real gRPC, from a real manager: nodes x and m gossip (their
 * hellos carry keys), p does not. Each is a bare session whose every message the test reads and
 * whose reports the test writes, so it can play an agent that lags.
 */
const timeoutMs = 10_000;
const keyOf = (letter: string): string => letter.repeat(64);

/** One agent's session: everything the leader sent it, and what it reports. */
class AgentStream {
  readonly messages: ManagerMessage[] = [];
  error: ServiceError | undefined;
  private readonly waiters: (() => void)[] = [];
  private readonly stream;

  constructor(api: ApiManager, readonly nodeId: string, gossipPublicKey: string) {
    this.stream = api.dispatcher.session();
    this.stream.on('data', (message: ManagerMessage) => this.heard(() => this.messages.push(message)));
    this.stream.on('error', (error: ServiceError) => this.heard(() => (this.error = error)));
    this.stream.write({ body: { $case: 'hello', value: { nodeId, lastAppliedRevision: 0, assemblesDeltaParts: true, gossipPublicKey } } });
  }

  /** The view it holds: the last whole one with the deltas since applied as far as revisions, networks and members go. */
  view(): NodeView | undefined {
    let view: NodeView | undefined;
    for (const { body } of this.messages) {
      if (body?.$case === 'resync' && body.value.part) view = body.value.last ? body.value.part : view;
      if (body?.$case === 'delta' && view) {
        const gone = new Set(body.value.removedMembers.map((member) => `${member.networkId}/${member.nodeId}`));
        const members = view.members.filter((member) => !gone.has(`${member.networkId}/${member.nodeId}`));
        const hosted = new Set(body.value.networkIds);
        const changed = new Set(body.value.networks.map((network) => network.id));
        const networks = [...view.networks.filter((network) => hosted.has(network.id) && !changed.has(network.id)), ...body.value.networks];
        view = { ...view, revision: body.value.revision, networks, members: [...members, ...body.value.members] };
      }
    }
    return view;
  }

  /** The ready set it holds after every readiness message. */
  ready(): Set<string> {
    const ready = new Set<string>();
    for (const readiness of this.readiness()) {
      if (readiness.replace) ready.clear();
      for (const id of readiness.readyEndpointIds) ready.add(id);
      for (const id of readiness.unreadyEndpointIds) ready.delete(id);
    }
    return ready;
  }

  readiness(): EndpointReadiness[] {
    return this.messages.flatMap(({ body }) => (body?.$case === 'readiness' ? [body.value] : []));
  }

  /** Every MemberDigests message, in order. */
  digestMessages(): { replace: boolean; digests: MemberDigest[] }[] {
    return this.messages.flatMap(({ body }) => (body?.$case === 'memberDigests' ? [body.value] : []));
  }

  /** The digest it holds of a member: the last one told. */
  digestOf(networkId: string, nodeId: string): string | undefined {
    let digest: string | undefined;
    for (const message of this.digestMessages()) {
      if (message.replace) digest = undefined;
      for (const told of message.digests) if (told.networkId === networkId && told.nodeId === nodeId) digest = told.digest;
    }
    return digest;
  }

  answers(): MemberEntries[] {
    return this.messages.flatMap(({ body }) => (body?.$case === 'memberEntries' ? [body.value] : []));
  }

  /** Once it holds a view of `revision` or later, reports it programmed (every network at its revision), with these member digests. */
  async report(revision: number, members: MemberProgrammed[] = []): Promise<void> {
    await this.until(() => (this.view()?.revision ?? 0) >= revision, `${this.nodeId} holds revision ${revision}`);
    const view = this.view() ?? fail(`${this.nodeId} has no view`);
    const networks = Object.fromEntries(view.networks.map((network) => [network.id, view.revision]));
    this.stream.write({ body: { $case: 'programmed', value: { revision: view.revision, networks, unprogrammedEndpointIds: [], services: {}, members } } });
  }

  askEntries(networkId: string, ownerNodeId: string): void {
    this.stream.write({ body: { $case: 'memberEntries', value: { networkId, ownerNodeId } } });
  }

  async until(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  close(): void {
    this.stream.cancel();
  }

  private heard(record: () => void): void {
    record();
    for (const wake of this.waiters.splice(0)) wake();
  }
}

async function eventually(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function fail(why: string): never {
  throw new Error(why);
}

/** A manager with three registered nodes (x and m to gossip, p not) and a network blue. */
async function cluster(root: string, correctionGraceMs: number) {
  const api = await startApiManager(join(root, 'm1'), { metricsListen: '127.0.0.1:0', dispatcher: { correctionGraceMs } });
  const ids: Record<string, string> = {};
  for (const node of ['x', 'm', 'p']) {
    const registered = await callUnary(api.dispatcher, (d) => d.register, RegisterRequest.fromPartial({ nodeName: node, advertiseAddr: `198.18.0.${node.charCodeAt(0)}` }), timeoutMs);
    ids[node] = registered.nodeId;
  }
  const network = await callUnary(api.control, (c) => c.createNetwork, CreateNetworkRequest.fromPartial({ name: 'blue', subnet: '10.40.0.0/24' }), timeoutMs);
  let sandboxes = 0;
  /** Connects a new sandbox on `node` to blue: the endpoint. */
  const attach = async (node: string): Promise<{ id: string; createdRevision: number }> => {
    const name = `s${(sandboxes += 1)}-${node}`;
    await callUnary(api.control, (c) => c.createSandbox, { name, node, netns: '', networkMode: '', netnsFrom: '' }, timeoutMs);
    return callUnary(api.control, (c) => c.connectNetwork, ConnectNetworkRequest.fromPartial({ network: 'blue', sandbox: name }), timeoutMs);
  };
  const id = (node: string): string => ids[node] ?? fail(`no node ${node}`);
  const scrape = async (): Promise<string> => (await fetch(`http://${api.manager.metricsAddress ?? fail('no metrics')}/metrics`)).text();
  return { api, id, networkId: network.id, attach, scrape };
}

/** A `cluster` for the tests of one describe, and a way to open sessions closed after them. */
function clusterForTests(correctionGraceMs: number) {
  let root = '';
  let env: Awaited<ReturnType<typeof cluster>> | undefined;
  const streams: AgentStream[] = [];
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trellis-gossip-leader-'));
    env = await cluster(root, correctionGraceMs);
  });
  afterAll(async () => {
    for (const stream of streams) stream.close();
    if (env) await stopApiManager(env.api);
    rmSync(root, { recursive: true, force: true });
  });
  const current = () => env ?? fail('no cluster');
  const open = (nodeId: string, key: string): AgentStream => {
    const stream = new AgentStream(current().api, nodeId, key);
    streams.push(stream);
    return stream;
  };
  return { current, open };
}

describe('the leader with gossiping agents', () => {
  // No correction within a test: what the leader sends on its own is the subject here.
  const { current, open } = clusterForTests(600_000);

  it('refuses a malformed gossip key, naming the field, and changes nothing', async () => {
    const env = current();
    const bad = open(env.id('x'), 'not-a-key');
    await bad.until(() => bad.error !== undefined, 'the session is refused');
    expect(bad.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.error?.details).toMatch(/gossip_public_key/);
    const node = await callUnary(env.api.control, (c) => c.getNode, { node: 'x' }, timeoutMs);
    expect(node.gossipPublicKey).toBe('');
  });

  it('registers a hello key before the first view, judges readiness by reported digests, answers the fallback, and pushes digests of an owner that is not live', async () => {
    const env = current();
    const { id, networkId } = env;
    const x = open(id('x'), keyOf('a'));
    const m = open(id('m'), keyOf('b'));
    const p = open(id('p'), '');
    await x.until(() => x.view() !== undefined, 'x has its first view');
    const node = await callUnary(env.api.control, (c) => c.getNode, { node: 'x' }, timeoutMs);
    expect(node.gossipPublicKey).toBe(keyOf('a'));
    await m.until(() => m.digestMessages().length > 0, 'm has its whole digests');
    expect(m.digestMessages()[0]).toEqual({ replace: true, digests: [] });

    const { id: epX1 } = await env.attach('x');
    const { id: epM } = await env.attach('m');
    const { id: epP, createdRevision: attached } = await env.attach('p');
    await m.until(() => m.view()?.members.some((member) => member.nodeId === id('x')) === true, "m's view lists x as a member");
    expect(m.view()?.members).toEqual([{ networkId, nodeId: id('x'), publicKey: keyOf('a'), vtep: `198.18.0.${'x'.charCodeAt(0)}` }]);
    // m hosts blue now: it is told x's digest there, and it is the digest of what the fallback answers.
    await m.until(() => m.digestOf(networkId, id('x')) !== undefined, "m holds x's digest");
    m.askEntries(networkId, id('x'));
    await m.until(() => m.answers().length > 0, 'm gets x\'s entries');
    const answer = m.answers()[0] ?? fail('no answer');
    expect(answer).toMatchObject({ networkId, ownerNodeId: id('x') });
    expect(answer.entries.map((entry) => entry.endpointId)).toEqual([epX1]);
    const digestX1 = m.digestOf(networkId, id('x'));
    expect(gossipEntryDigest(answer.entries)).toBe(digestX1);

    // Everyone reports its view; x programmed m's set, m nothing of x's: x's endpoint waits for m.
    await x.until(() => x.digestOf(networkId, id('m')) !== undefined, "x holds m's digest");
    await x.report(attached, [{ networkId, ownerNodeId: id('m'), digest: x.digestOf(networkId, id('m')) ?? fail('no digest') }]);
    await p.report(attached);
    await m.report(attached, []);
    await p.until(() => p.ready().has(epM) && p.ready().has(epP), "m's and p's endpoints are ready");
    expect(p.ready().has(epX1)).toBe(false);
    // The API, which reads nodes as listed, judges alike: m has not programmed x's endpoint.
    const readyInApi = async (): Promise<string[]> =>
      (await callUnary(env.api.control, (c) => c.getNetwork, { network: 'blue' }, timeoutMs)).endpoints.flatMap((endpoint) => (endpoint.ready ? [endpoint.id] : [])).sort();
    expect(await readyInApi()).toEqual([epM, epP].sort());
    // m's readiness names only endpoints of its view: x's travels in x's gossip.
    await m.until(() => m.ready().has(epM), "m holds its own endpoint ready");
    expect([...m.ready()].sort()).toEqual([epM, epP].sort());
    // m programs x's set: ready everywhere.
    await m.report(0, [{ networkId, ownerNodeId: id('x'), digest: digestX1 ?? fail('no digest') }]);
    await x.until(() => x.ready().has(epX1), "x's endpoint is ready");
    await p.until(() => p.ready().has(epX1), "p holds x's endpoint ready");
    expect(await readyInApi()).toEqual([epX1, epM, epP].sort());
    expect(m.ready().has(epX1)).toBe(false);

    // x adds an endpoint while m still holds its old set: the first stays ready, the second waits.
    const readinessBefore = x.readiness().length;
    const { id: epX2, createdRevision: secondAt } = await env.attach('x');
    await x.report(secondAt);
    await p.report(secondAt);
    m.askEntries(networkId, id('x'));
    await m.until(() => m.answers().length > 1, "m gets x's new entries");
    const digestX2 = gossipEntryDigest(m.answers()[1]?.entries ?? []);
    expect(digestX2).not.toBe(digestX1);
    expect(x.ready().has(epX2)).toBe(false);
    await m.report(0, [{ networkId, ownerNodeId: id('x'), digest: digestX2 }]);
    await x.until(() => x.ready().has(epX2), "x's second endpoint is ready");
    expect(x.readiness().slice(readinessBefore).flatMap((message) => message.unreadyEndpointIds)).not.toContain(epX1);
    // x is live: its change cost m no digest from the leader.
    expect(m.digestOf(networkId, id('x'))).toBe(digestX1);

    // x's agent goes away; its set changes: m is told the new digest, since x cannot gossip it.
    x.close();
    await eventually(async () => (await callUnary(env.api.control, (c) => c.getNode, { node: 'x' }, timeoutMs)).status === NodeStatus.NODE_STATUS_DOWN, 'x is down');
    const sent = m.digestMessages().length;
    const { id: epX3 } = await env.attach('x');
    await m.until(() => m.digestMessages().length > sent, 'm is told x\'s new digest');
    const pushed = m.digestMessages()[sent] ?? fail('no digests');
    expect(pushed.replace).toBe(false);
    m.askEntries(networkId, id('x'));
    await m.until(() => m.answers().length > 2, "m gets x's entries again");
    const third = m.answers()[2] ?? fail('no answer');
    expect(third.entries.map((entry) => entry.endpointId).sort()).toEqual([epX1, epX2, epX3].sort());
    expect(pushed.digests).toEqual([{ networkId, nodeId: id('x'), digest: gossipEntryDigest(third.entries), revision: third.revision }]);
    // x is down: its endpoints are not ready, and the answer says so.
    expect(third.entries.every((entry) => !entry.ready)).toBe(true);

    // Asking about a network the owner does not host: an empty answer.
    m.askEntries('no-such-network', id('x'));
    await m.until(() => m.answers().length > 3, 'm gets an answer about a network nobody hosts');
    expect(m.answers()[3]?.entries).toEqual([]);

    const metrics = await env.scrape();
    expect(sampleValue(metrics, 'trellis_gossip_member_entries_answered_total')).toBe(4);
    expect(sampleValue(metrics, 'trellis_dispatcher_sent_bytes_total', 'kind="member_digests"')).toBeGreaterThan(0);
    expect(sampleValue(metrics, 'trellis_dispatcher_sent_bytes_total', 'kind="member_entries"')).toBeGreaterThan(0);
    expect(sampleValue(metrics, 'trellis_dispatcher_sent_bytes_total', 'kind="readiness"')).toBeGreaterThan(0);
    expect(sampleValue(metrics, 'trellis_gossip_digest_corrections_total')).toBe(0);
  }, 90_000);
});

describe('the leader correcting a lagging member', () => {
  const { current, open } = clusterForTests(300);

  it("sends a member whose programmed digest lags past the grace period the owner's digest, and counts it", async () => {
    const env = current();
    const { id, networkId } = env;
    const x = open(id('x'), keyOf('c'));
    const m = open(id('m'), keyOf('d'));
    await m.until(() => m.view() !== undefined && x.view() !== undefined, 'both have views');
    const epX = await env.attach('x');
    await env.attach('m');
    await m.until(() => m.digestOf(networkId, id('x')) !== undefined, "m holds x's digest");
    const truth = m.digestOf(networkId, id('x')) ?? fail('no digest');
    await x.report(epX.createdRevision);
    // m reports a set of x that is not the truth (gossip it believed): after the grace, the truth.
    const told = m.digestMessages().length;
    await m.report(0, [{ networkId, ownerNodeId: id('x'), digest: 'f'.repeat(32) }]);
    await m.until(() => m.digestMessages().length > told, 'm is corrected');
    expect(m.digestMessages()[told]).toMatchObject({ replace: false, digests: [expect.objectContaining({ networkId, nodeId: id('x'), digest: truth })] });
    await eventually(async () => (sampleValue(await env.scrape(), 'trellis_gossip_digest_corrections_total') ?? 0) >= 1, 'the correction is counted');
    // Once it reports the truth, x's endpoint is ready and no more corrections come.
    await m.report(0, [{ networkId, ownerNodeId: id('x'), digest: truth }]);
    await x.until(() => x.ready().has(epX.id), "x's endpoint is ready");
  }, 60_000);
});
