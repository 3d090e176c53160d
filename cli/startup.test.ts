import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRepoRoot } from '../e2e/lab/context';

/*
 * What a CLI call loads decides how long it takes to start (no timing here: what it loads).
 * Runs the built CLI (dist/, `npm run build`) with a hook that lists every module it loaded.
 */
const main = join(findRepoRoot(__dirname), 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'trellis-startup-'));
const hook = join(dir, 'hook.js');
writeFileSync(hook, `process.on('exit', () => require('fs').writeFileSync(process.env.LOADED_FILE, JSON.stringify(Object.keys(require.cache))));`);
// A TLS directory the CLI reads (it parses no certificate itself); the call then fails to connect.
for (const file of ['ca.crt', 'admin.crt', 'admin.key']) writeFileSync(join(dir, file), 'not a real PEM\n', { mode: 0o600 });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function loadedBy(args: string[]): string[] {
  const loadedFile = join(dir, 'loaded.json');
  spawnSync(process.execPath, ['-r', hook, main, '--tls-dir', dir, '--manager', '127.0.0.1:1', ...args], {
    env: { ...process.env, LOADED_FILE: loadedFile },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return JSON.parse(readFileSync(loadedFile, 'utf8')) as string[];
}

/** Libraries and code no client command needs: certificate parsing, .proto parsing, metrics, logging, the daemons. */
const daemonOnly = [/node_modules\/@peculiar\//, /node_modules\/@grpc\/proto-loader\//, /node_modules\/protobufjs\//, /node_modules\/prom-client\//, /node_modules\/pino\//, /dist\/manager\/daemon\.js$/, /dist\/agent\/daemon\.js$/, /dist\/manager\/raft\//];

function matching(modules: string[], patterns: RegExp[]): string[] {
  return modules.filter((module) => patterns.some((pattern) => pattern.test(module)));
}

describe('what a CLI call loads', () => {
  it('--help: the command tree only, not gRPC nor the generated messages', () => {
    const loaded = loadedBy(['--help']);
    expect(matching(loaded, [...daemonOnly, /node_modules\/@grpc\/grpc-js\//, /dist\/proto\/gen\//])).toEqual([]);
    expect(matching(loaded, [/node_modules\/commander\//])).not.toEqual([]);
  });

  it('network ls: gRPC and the Control client, nothing of the daemons', () => {
    const loaded = loadedBy(['network', 'ls']);
    expect(matching(loaded, daemonOnly)).toEqual([]);
    expect(matching(loaded, [/node_modules\/@grpc\/grpc-js\//])).not.toEqual([]);
    expect(matching(loaded, [/dist\/proto\/gen\/trellis\/v1\/control\.js$/])).not.toEqual([]);
  });
});
