import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Traffic through services' VIPs for scenario tests, from node inside sandbox namespaces (no socat
 * or nc here). A backend's server says who it is and which source address it saw, so a reply proves
 * both where a flow went and that nothing translated the client's address.
 */

const SERVER = `
const [name, port] = process.argv.slice(1);
require('net').createServer((socket) => {
  socket.write(name + ' ' + socket.remoteAddress + '\\n');
  socket.on('data', (chunk) => socket.write(name + ' echo ' + chunk.toString()));
  socket.on('error', () => undefined);
}).listen(Number(port), '0.0.0.0', () => console.log('ready'));`;

// One process makes every connection, one after the other: each reads the server's first line.
const SPREAD = `
const [host, port, count] = process.argv.slice(1);
const counts = {}, sources = new Set();
let failures = 0;
const once = () => new Promise((resolve) => {
  const socket = require('net').connect(Number(port), host);
  let answer = '';
  const done = (ok) => { clearTimeout(timer); socket.destroy(); if (!ok) failures += 1; resolve(); };
  const timer = setTimeout(() => done(false), 3000);
  socket.on('data', (chunk) => {
    answer += chunk;
    if (!answer.includes('\\n')) return;
    const [name, source] = answer.trim().split(' ');
    counts[name] = (counts[name] || 0) + 1;
    sources.add(source);
    done(true);
  });
  socket.on('error', () => done(false));
});
(async () => {
  for (let i = 0; i < Number(count); i += 1) await once();
  console.log(JSON.stringify({ counts, sources: [...sources], failures }));
})();`;

// Connects once and keeps the connection: each stdin line is sent, each line received is printed.
const HOLD = `
const [host, port] = process.argv.slice(1);
const socket = require('net').connect(Number(port), host);
socket.on('data', (chunk) => process.stdout.write(chunk.toString()));
socket.on('close', () => { console.log('closed'); process.exit(0); });
socket.on('error', (error) => console.log('error ' + error.code));
require('readline').createInterface({ input: process.stdin }).on('line', (line) => socket.write(line + '\\n'));`;

export interface Spread {
  /** Connections served, by backend name. */
  counts: Record<string, number>;
  /** Every source address the backends saw. */
  sources: string[];
  /** Connections that got no answer within 3 s or failed. */
  failures: number;
}

/** A backend's server in `netns`, named `name`; resolves once it listens. The caller kills it. */
export function startNamedServer(netns: string, name: string, port: number): Promise<ChildProcess> {
  const server = spawn('ip', ['netns', 'exec', netns, 'node', '-e', SERVER, name, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('exit', (code) => reject(new Error(`server ${name} in ${netns} exited with ${code}`)));
    server.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(server);
    });
  });
}

/** `count` TCP connections from `netns` to host:port, one after the other. */
export function spreadOf(netns: string, host: string, port: number, count: number): Spread {
  const result = spawnSync('ip', ['netns', 'exec', netns, 'node', '-e', SPREAD, host, String(port), String(count)], {
    encoding: 'utf8',
    timeout: count * 3_500 + 10_000,
  });
  if (result.status !== 0) throw new Error(`connections from ${netns} to ${host}:${port} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Spread;
}

/** A TCP connection kept open from `netns`: send a line, read the lines that come back. */
export class HeldConnection {
  private readonly lines: string[] = [];
  private readonly waiters: (() => void)[] = [];
  private readonly child: ChildProcess;

  constructor(netns: string, host: string, port: number) {
    this.child = spawn('ip', ['netns', 'exec', netns, 'node', '-e', HOLD, host, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
    if (this.child.stdout) {
      createInterface({ input: this.child.stdout }).on('line', (line) => {
        this.lines.push(line);
        for (const wake of this.waiters.splice(0)) wake();
      });
    }
  }

  /** The next line received, or undefined when none came within timeoutMs. */
  async nextLine(timeoutMs: number): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.lines.shift();
  }

  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  close(): void {
    this.child.kill();
  }
}
