import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EmbeddedAddons } from './embedded-addons';

const run = promisify(execFile);

/*
 * The gossip DHT's native modules in a bundle made with the release's plugin: sodium-native and
 * udx-native load from the bundle's own trailer, from a directory with no node_modules, and a
 * platform without a carried module is told so by name.
 */
describe('the native modules of the gossip DHT in a bundle', () => {
  let dir: string;
  let bundle: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-addons-'));
    const entry = join(dir, 'entry.js');
    writeFileSync(entry, [
      "const sodium = require('sodium-native');",
      "const UDX = require('udx-native');",
      'const bytes = Buffer.alloc(32); sodium.randombytes_buf(bytes);',
      "process.stdout.write(JSON.stringify({ random: bytes.some((byte) => byte !== 0), ipv4: UDX.isIPv4('127.0.0.1') }));",
    ].join('\n'));
    const addons = new EmbeddedAddons();
    const result = await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', write: false, nodePaths: [join(__dirname, '..', 'node_modules')], plugins: [addons.plugin()], logLevel: 'silent' });
    bundle = join(dir, 'bundle.js');
    writeFileSync(bundle, (result.outputFiles[0]?.text ?? '') + addons.trailer());
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('load from the bundle alone', async () => {
    const { stdout } = await run(process.execPath, [bundle], { cwd: dir, timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({ random: true, ipv4: true });
  });

  it('name the platforms carried on another one', async () => {
    const elsewhere = `Object.defineProperty(process, 'platform', { value: 'darwin' }); require(${JSON.stringify(bundle)});`;
    await expect(run(process.execPath, ['-e', elsewhere], { cwd: dir, timeout: 30_000 })).rejects.toThrow(
      new RegExp(`this trellis carries (sodium|udx)-native\\.node for linux-x64 and linux-arm64 only, not darwin-${process.arch}`),
    );
  });
});
