import { ChildProcess, spawn } from 'node:child_process';
import { run } from '../reconcile/kernel-test-support';

/**
 * Real traffic for the firewall's kernel tests, from node (no socat or nc here). Each server
 * answers on TCP and UDP with the source address it saw, so a reply also proves what NAT did.
 */

const SERVER = `
const net = require('net'), dgram = require('dgram');
const ports = process.argv.slice(1).map(Number);
let listening = 0;
const ready = () => { listening += 1; if (listening === ports.length * 2) console.log('ready'); };
for (const port of ports) {
  net.createServer((socket) => socket.end(socket.remoteAddress + '\\n')).listen(port, '0.0.0.0', ready);
  const udp = dgram.createSocket('udp4');
  udp.on('message', (message, peer) => udp.send(peer.address + '\\n', peer.port, peer.address));
  udp.bind(port, '0.0.0.0', ready);
}`;

// "timeout" is the verdict for silently dropped traffic, never a measurement.
const CLIENT = `
const [protocol, host, port] = process.argv.slice(1);
const settle = (verdict) => { console.log(verdict); process.exit(0); };
const failure = (error) => settle(error.code === 'ECONNREFUSED' ? 'refused' : 'error ' + error.code);
setTimeout(() => settle('timeout'), 3000);
if (protocol === 'tcp') {
  const socket = require('net').connect(Number(port), host);
  let answer = '';
  socket.on('data', (chunk) => { answer += chunk; });
  socket.on('end', () => settle('reply ' + answer.trim()));
  socket.on('error', failure);
} else {
  const socket = require('dgram').createSocket('udp4');
  socket.on('message', (message) => settle('reply ' + message.toString().trim()));
  socket.on('error', failure);
  socket.connect(Number(port), host, () => socket.send('hello'));
}`;

/** 'reply <source address the server saw>', 'refused', 'timeout' or 'error <code>'. */
export async function connect(fromNetns: string, protocol: 'tcp' | 'udp', host: string, port: number): Promise<string> {
  const output = await run(['ip', 'netns', 'exec', fromNetns, 'node', '-e', CLIENT, protocol, host, String(port)]);
  return output.trim();
}

/** Resolves once every port listens; the caller kills the process. */
export function startServer(netns: string, ports: readonly number[]): Promise<ChildProcess> {
  const server = spawn('ip', ['netns', 'exec', netns, 'node', '-e', SERVER, ...ports.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('exit', (code) => reject(new Error(`server in ${netns} exited with ${code}`)));
    server.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(server);
    });
  });
}
