import { ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { deleteNetnsIfPresent, run } from '../reconcile/kernel-test-support';

/**
 * A network of its own for the balancer's kernel tests: a bridge in a namespace of its own, a
 * client sandbox and three backend sandboxes on it, all on 10.77.0.0/24 (the VIPs are free
 * addresses there, as the managers allocate them from the network's subnet). Names carry the
 * test process's PID; everything is removed by exact name.
 */

const tag = `trlb${process.pid}`;

export const lab = {
  bridgeNetns: `${tag}-br`,
  client: { netns: `${tag}-c`, ip: '10.77.0.10' },
  backends: [1, 2, 3].map((n) => ({ name: `b${n}`, netns: `${tag}-b${n}`, ip: `10.77.0.${10 + n}` })),
  /** A sandbox that balances nothing. */
  idle: { netns: `${tag}-i`, ip: '10.77.0.20' },
};

const everyNetns = (): string[] => [lab.client.netns, lab.idle.netns, ...lab.backends.map((backend) => backend.netns), lab.bridgeNetns];

async function addSandbox(netns: string, ip: string, port: string): Promise<void> {
  await run(['ip', 'netns', 'add', netns]);
  await run(['ip', '-n', lab.bridgeNetns, 'link', 'add', port, 'master', 'br0', 'up', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  await run(['ip', '-n', netns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
  await run(['ip', '-n', netns, 'link', 'set', 'eth0', 'up']);
  await run(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
}

export async function buildLab(): Promise<void> {
  await run(['ip', 'netns', 'add', lab.bridgeNetns]);
  await run(['ip', '-n', lab.bridgeNetns, 'link', 'add', 'br0', 'up', 'type', 'bridge']);
  await addSandbox(lab.client.netns, lab.client.ip, 'pc');
  await addSandbox(lab.idle.netns, lab.idle.ip, 'pi');
  for (const backend of lab.backends) await addSandbox(backend.netns, backend.ip, `p${backend.name}`);
}

export async function removeLab(): Promise<void> {
  for (const netns of everyNetns()) await deleteNetnsIfPresent(netns).catch(() => undefined);
}

/**
 * On each of its ports, a backend answers a TCP connection with "NAME CLIENT-ADDRESS PORT" (the
 * port reached) and then echoes every line as "NAME LINE" until the client closes; a UDP
 * datagram gets "NAME CLIENT-ADDRESS PORT".
 */
const SERVER = `
const [name, ...ports] = process.argv.slice(1);
const net = require('net'), dgram = require('dgram');
let listening = 0;
const ready = () => { listening += 1; if (listening === 2 * ports.length) console.log('ready'); };
ports.forEach((port) => {
  net.createServer((socket) => {
    socket.write(name + ' ' + socket.remoteAddress + ' ' + port + '\\n');
    require('readline').createInterface({ input: socket }).on('line', (line) => socket.write(name + ' ' + line + '\\n'));
    socket.on('error', () => undefined);
  }).listen(Number(port), '0.0.0.0', ready);
  const udp = dgram.createSocket('udp4');
  udp.on('message', (message, peer) => udp.send(name + ' ' + peer.address + ' ' + port + '\\n', peer.port, peer.address));
  udp.bind(Number(port), '0.0.0.0', ready);
});`;

/** Resolves once the backend listens on every port, TCP and UDP; the caller kills it. */
export function startBackend(backend: (typeof lab.backends)[number], ...ports: number[]): Promise<ChildProcess> {
  const server = spawn('ip', ['netns', 'exec', backend.netns, 'node', '-e', SERVER, backend.name, ...ports.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('exit', (code) => reject(new Error(`backend in ${backend.netns} exited with ${code}`)));
    server.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(server);
    });
  });
}

/**
 * `count` TCP connections one after the other, each read for its greeting and closed: the
 * greetings, or "refused"/"timeout"/"error CODE" for one that got none ("timeout": silently dropped).
 */
const CONNECTIONS = `
const [protocol, host, port, count] = process.argv.slice(1);
const once = () => new Promise((resolve) => {
  const timer = setTimeout(() => { resolve('timeout'); socket.destroy(); }, 3000);
  const settle = (verdict) => { clearTimeout(timer); resolve(verdict); };
  const failure = (error) => settle(error.code === 'ECONNREFUSED' ? 'refused' : 'error ' + error.code);
  let socket;
  if (protocol === 'tcp') {
    socket = require('net').connect(Number(port), host);
    // readline passes the socket's errors on: one handler for both.
    require('readline').createInterface({ input: socket }).once('line', (line) => { settle(line); socket.destroy(); }).on('error', failure);
  } else {
    socket = require('dgram').createSocket('udp4');
    socket.on('message', (message) => { settle(message.toString().trim()); socket.close(); });
    socket.on('error', failure);
    socket.connect(Number(port), host, () => socket.send('hello'));
  }
});
(async () => {
  const answers = [];
  for (let i = 0; i < Number(count); i++) answers.push(await once());
  console.log(JSON.stringify(answers));
})();`;

export async function connections(fromNetns: string, protocol: 'tcp' | 'udp', host: string, port: number, count: number): Promise<string[]> {
  const output = await run(['ip', 'netns', 'exec', fromNetns, 'node', '-e', CONNECTIONS, protocol, host, String(port), String(count)]);
  return JSON.parse(output) as string[];
}

/** Backend name → how many of `answers` it gave. */
export function tally(answers: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const answer of answers) {
    const name = answer.split(' ')[0] ?? answer;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

/** One long TCP connection, driven line by line: send a line, read the answer (or how it ended). */
const LONG = `
const [host, port] = process.argv.slice(1);
const socket = require('net').connect(Number(port), host);
const lines = require('readline').createInterface({ input: socket }).on('line', (line) => console.log(line));
lines.on('error', (error) => { console.log('closed ' + error.code); process.exit(0); });
socket.on('close', () => { console.log('closed'); process.exit(0); });
require('readline').createInterface({ input: process.stdin }).on('line', (line) => socket.write(line + '\\n'));`;

export interface LongConnection {
  /** The greeting, then the answer to each line sent: "NAME LINE", or "closed …". */
  next(): Promise<string>;
  send(line: string): void;
  close(): void;
}

export function openLongConnection(fromNetns: string, host: string, port: number): LongConnection {
  const child = spawn('ip', ['netns', 'exec', fromNetns, 'node', '-e', LONG, host, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const waiter = waiting.shift();
    if (waiter === undefined) lines.push(line);
    else waiter(line);
  });
  child.on('exit', () => {
    for (const waiter of waiting.splice(0)) waiter('closed (client exited)');
  });
  return {
    next: () => {
      const line = lines.shift();
      if (line !== undefined) return Promise.resolve(line);
      // No timing assertion: a connection that hangs shows up as "timeout", a verdict.
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve('timeout'), 10_000);
        waiting.push((answer) => {
          clearTimeout(timer);
          resolve(answer);
        });
      });
    },
    send: (line) => child.stdin.write(`${line}\n`),
    close: () => child.kill(),
  };
}

/** The rules of the table with their handles, as "chain handle": what a change rewrote gets new handles. */
export async function ruleHandles(netns: string, table: string): Promise<Map<string, string>> {
  const listing = JSON.parse(await run(['ip', 'netns', 'exec', netns, 'nft', '-j', '-a', 'list', 'table', 'ip', table])) as { nftables: Record<string, { chain?: string; handle?: number }>[] };
  const handles = new Map<string, string>();
  for (const object of listing.nftables) {
    const rule = object['rule'];
    if (rule?.chain !== undefined) handles.set(`${rule.chain} ${rule.handle ?? '?'}`, rule.chain);
  }
  return handles;
}

export async function tableExists(netns: string, table: string): Promise<boolean> {
  const tables = await run(['ip', 'netns', 'exec', netns, 'nft', 'list', 'tables', 'ip']);
  return tables.split('\n').some((line) => line.trim() === `table ip ${table}`);
}

export const inNetns = (netns: string, ...argv: string[]): Promise<string> => run(['ip', 'netns', 'exec', netns, ...argv]);
