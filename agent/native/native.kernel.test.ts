/**
 * The in-process namespace calls against the real kernel: an nft script and sockets made inside a
 * fresh namespace land there (seen from inside by nft and by a client), and the agent's own
 * namespace is untouched afterwards, also after a failure.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import { readlinkSync } from 'node:fs';
import { NFT_JSON_OUTPUT, NftSession } from './nftables-in-namespace';
import { tcpListenerIn, udpSocketIn } from './sockets-in-namespace';

const NAMESPACE = `trnat-${process.pid}`;
const PATH = `/run/netns/${NAMESPACE}`;
const TABLE = `trnat_${process.pid}`;
const ownNamespace = (): string => readlinkSync('/proc/thread-self/ns/net');
const inside = (script: string): string => execFileSync('ip', ['netns', 'exec', NAMESPACE, 'bash', '-c', script], { encoding: 'utf8' });

describe('native calls inside a network namespace', () => {
  const home = ownNamespace();
  // One session for every script, as the balancer keeps one per pass.
  const nft = new NftSession();

  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', NAMESPACE]);
    execFileSync('ip', ['-n', NAMESPACE, 'link', 'set', 'lo', 'up']);
  });

  afterAll(() => {
    nft.close();
    spawnSync('ip', ['netns', 'del', NAMESPACE]);
  });

  it('runs an nft script there, lists it back as JSON, and leaves the agent’s own ruleset alone', () => {
    const written = nft.run(PATH, `add table ip ${TABLE}\nadd set ip ${TABLE} seen { type ipv4_addr; }\nadd element ip ${TABLE} seen { 10.9.0.1 }\n`);
    expect(written).toMatchObject({ ok: true, error: '' });
    expect(inside(`nft list set ip ${TABLE} seen`)).toContain('10.9.0.1');
    const listed = nft.run(PATH, `list set ip ${TABLE} seen`, NFT_JSON_OUTPUT);
    expect(JSON.stringify(JSON.parse(listed.output))).toContain('"10.9.0.1"');
    expect(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' })).not.toContain(TABLE);
    expect(ownNamespace()).toBe(home);
  });

  it('reports a refused script with nft’s message and writes nothing of it', () => {
    const refused = nft.run(PATH, `add element ip ${TABLE} seen { 10.9.0.2 }\nadd element ip ${TABLE} missing { 10.9.0.3 }\n`);
    expect(refused.ok).toBe(false);
    expect(refused.error).toMatch(/missing|No such file/);
    expect(inside(`nft list set ip ${TABLE} seen`)).not.toContain('10.9.0.2');
    expect(ownNamespace()).toBe(home);
  });

  it('serves a UDP socket and a TCP listener made there to a client inside the namespace', async () => {
    const udp = createSocket('udp4');
    const datagram = new Promise<string>((resolve) => udp.once('message', (message) => resolve(message.toString())));
    await new Promise<void>((resolve) => udp.bind({ fd: udpSocketIn(PATH, '127.0.0.11', 53) }, resolve));
    const accepted: Socket[] = [];
    const server = createServer((socket) => {
      accepted.push(socket);
      socket.once('data', (data) => socket.end(`echo ${data.toString().trim()}`));
    });
    await new Promise<void>((resolve) => server.listen({ fd: tcpListenerIn(PATH, '127.0.0.11', 53) }, resolve));
    try {
      inside('echo hello-udp > /dev/udp/127.0.0.11/53');
      expect(await datagram).toBe('hello-udp\n');
      const reply = await new Promise<string>((resolve, reject) => {
        const client = spawn('ip', ['netns', 'exec', NAMESPACE, 'bash', '-c', 'exec 3<>/dev/tcp/127.0.0.11/53; echo hello-tcp >&3; cat <&3'], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        client.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        client.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`client exited ${code}`))));
      });
      expect(reply).toBe('echo hello-tcp');
      // Nothing listens on 127.0.0.11:53 in the agent's own namespace.
      expect(execFileSync('ss', ['-Hlnu', 'src', '127.0.0.11'], { encoding: 'utf8' }).trim()).toBe('');
    } finally {
      udp.close();
      for (const socket of accepted) socket.destroy();
      server.close();
    }
    expect(ownNamespace()).toBe(home);
  });

  it('refuses a namespace that does not exist and stays in its own', () => {
    expect(() => udpSocketIn(`/run/netns/${NAMESPACE}-absent`, '127.0.0.11', 53)).toThrow(/cannot open the network namespace/);
    expect(() => nft.run(PATH, 'list ruleset', 0)).not.toThrow();
    expect(ownNamespace()).toBe(home);
  });
});
