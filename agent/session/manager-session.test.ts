import { credentials, Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import pino from 'pino';
import {
  DispatcherService,
  NodeView,
  type AgentMessage,
  type ManagerMessage,
  type MemberDigests,
  type MemberEntries,
  type RegisterRequest,
} from '../../proto/gen/trellis/v1/dispatcher';
import { ManagerSession } from './manager-session';

/*
 * The session's gossip half, against a Dispatcher that records what the agent sends over real
 * gRPC (plaintext on loopback: the manager's side is covered by the dispatcher's own tests).
 */

type Stream = ServerDuplexStream<AgentMessage, ManagerMessage>;

class RecordingDispatcher {
  readonly server = new Server();
  /** Per session, in order, the messages the agent sent. */
  readonly sessions: AgentMessage[][] = [];
  readonly streams: Stream[] = [];
  readonly registrations: RegisterRequest[] = [];
  address = '';

  async start(): Promise<void> {
    this.server.addService(DispatcherService, {
      register: (call: { request: RegisterRequest }, callback: (error: null, response: { nodeId: string }) => void) => {
        this.registrations.push(call.request);
        callback(null, { nodeId: 'node-b' });
      },
      session: (stream: Stream) => {
        const messages: AgentMessage[] = [];
        this.sessions.push(messages);
        this.streams.push(stream);
        stream.on('data', (message: AgentMessage) => {
          if (message.body?.$case !== 'heartbeat') messages.push(message);
        });
        stream.on('error', () => undefined);
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    this.address = `127.0.0.1:${port}`;
  }

  /** The messages of the current session. */
  get current(): AgentMessage[] {
    return this.sessions[this.sessions.length - 1] ?? [];
  }

  send(message: ManagerMessage): void {
    this.streams[this.streams.length - 1]?.write(message);
  }

  reports(session = this.current) {
    return session.flatMap((message) => (message.body?.$case === 'programmed' ? [message.body.value] : []));
  }
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const view = NodeView.fromPartial({ revision: 4, nodeId: 'node-b', networks: [{ id: 'n1' }] });
const nodeFacts = {
  interfaces: [{ name: 'eth0', kind: '', addresses: ['198.18.0.2/24'] }],
  linkKinds: ['macvlan'],
  ephemeralPortFirst: 40000,
  ephemeralPortLast: 50000,
};
const member = (ownerNodeId: string, digest: string) => ({ networkId: 'n1', ownerNodeId, digest });

describe("a gossiping agent's manager session", () => {
  let dispatcher: RecordingDispatcher;
  let session: ManagerSession;
  const digests: MemberDigests[] = [];
  const entries: MemberEntries[] = [];

  beforeAll(async () => {
    dispatcher = new RecordingDispatcher();
    await dispatcher.start();
    session = new ManagerSession({
      managers: [dispatcher.address],
      credentials: credentials.createInsecure(),
      nodeName: 'b',
      advertiseAddr: '198.18.0.2',
      gatewaySubnet: '',
      reservedPorts: [],
      nodeFacts,
      logger: pino({ level: 'silent' }),
      gossipPublicKey: 'ab'.repeat(32),
      onView: () => undefined,
      onTrust: () => undefined,
      onMemberDigests: (message) => digests.push(message),
      onMemberEntries: (message) => entries.push(message),
    });
    session.start();
    await until(() => dispatcher.current.length > 0, 'the hello');
  });

  afterAll(async () => {
    session.stop();
    await dispatcher.server.tryShutdown(() => undefined);
  });

  it("registers with its node's interfaces, link kinds and ephemeral port range", () => {
    expect(dispatcher.registrations[0]).toEqual(expect.objectContaining({ nodeName: 'b', ...nodeFacts }));
  });

  it('tells its gossip key in the hello', () => {
    expect(dispatcher.current[0]?.body).toEqual({ $case: 'hello', value: expect.objectContaining({ nodeId: 'node-b', gossipPublicKey: 'ab'.repeat(32) }) });
  });

  it("reports every member digest first, then only those that changed, and '' for a member no longer programmed", async () => {
    session.reportProgrammed(view, [], {}, [member('a', 'd1'), member('c', 'd2')]);
    session.reportProgrammed(view, [], {}, [member('a', 'd1'), member('c', 'd3')]);
    session.reportProgrammed(view, [], {}, [member('a', 'd1')]);
    session.reportProgrammed(view, [], {}, [member('a', 'd1')]);
    await until(() => dispatcher.reports().length === 4, 'four reports');
    expect(dispatcher.reports().map((report) => report.members)).toEqual([
      [member('a', 'd1'), member('c', 'd2')],
      [member('c', 'd3')],
      [member('c', '')],
      [],
    ]);
  });

  it('tells a new session the last report again with every member digest it stands for', async () => {
    const sessions = dispatcher.sessions.length;
    dispatcher.streams[dispatcher.streams.length - 1]?.end();
    await until(() => dispatcher.sessions.length > sessions && dispatcher.reports().length > 0, 'the report again on a new session');
    expect(dispatcher.current[0]?.body?.$case).toBe('hello');
    expect(dispatcher.reports()).toEqual([expect.objectContaining({ revision: 4, networks: { n1: 4 }, members: [member('a', 'd1')] })]);
  });

  it("passes the leader's digests and answers on, and asks it for a member's entries", async () => {
    dispatcher.send({ body: { $case: 'memberDigests', value: { replace: true, digests: [{ networkId: 'n1', nodeId: 'a', digest: 'd1', revision: 4 }] } } });
    dispatcher.send({ body: { $case: 'memberEntries', value: { networkId: 'n1', ownerNodeId: 'a', revision: 4, entries: [] } } });
    await until(() => digests.length === 1 && entries.length === 1, 'the digests and the answer');
    expect(digests[0]).toEqual({ replace: true, digests: [{ networkId: 'n1', nodeId: 'a', digest: 'd1', revision: 4 }] });
    expect(entries[0]).toEqual({ networkId: 'n1', ownerNodeId: 'a', revision: 4, entries: [] });

    session.requestMemberEntries('n1', 'a');
    await until(() => dispatcher.current.some((message) => message.body?.$case === 'memberEntries'), 'the request');
    expect(dispatcher.current.find((message) => message.body?.$case === 'memberEntries')?.body).toEqual({ $case: 'memberEntries', value: { networkId: 'n1', ownerNodeId: 'a' } });
  });
});
