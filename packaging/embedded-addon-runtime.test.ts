import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ADDONS_END, ADDONS_MARK, loadEmbeddedAddon } from './embedded-addon-runtime';

/** The artifact's native modules as the release writes them: a comment at its end. */
describe('loading a native module the artifact carries', () => {
  const koffi = readFileSync(require.resolve(`koffi/build/koffi/${process.platform}_${process.arch}/koffi.node`));
  const sha256 = createHash('sha256').update(koffi).digest('hex');
  let dir: string;
  let scratch: string;
  const savedTmp = process.env['TMPDIR'];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-addon-test-'));
    scratch = join(dir, 'tmp');
    mkdirSync(scratch);
    process.env['TMPDIR'] = scratch;
  });
  afterEach(() => {
    if (savedTmp === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = savedTmp;
    rmSync(dir, { recursive: true, force: true });
  });

  const artifact = (bytes: Buffer, recorded = sha256): string => {
    const file = join(dir, 'trellis');
    const payloads = { 'here-koffi.node': { sha256: recorded, packed: gzipSync(bytes).toString('base64') } };
    // The bundle names the mark too; the last one is the trailer's.
    writeFileSync(file, `"use strict";\nconst mark = ${JSON.stringify(ADDONS_MARK)};\n${ADDONS_MARK}${JSON.stringify(payloads)}${ADDONS_END}\n`);
    return file;
  };

  it('loads the module from the artifact’s end and leaves no copy in TMPDIR', () => {
    const loaded = loadEmbeddedAddon(artifact(koffi), 'here-koffi.node', sha256) as { version?: string };
    expect(loaded.version).toBe((JSON.parse(readFileSync(require.resolve('koffi/package.json'), 'utf8')) as { version: string }).version);
    expect(readdirSync(scratch)).toEqual([]);
  });

  it('refuses bytes that are not the ones built, writing nothing', () => {
    const damaged = Buffer.from(koffi);
    damaged[1000] = (damaged[1000] ?? 0) ^ 0xff;
    expect(() => loadEmbeddedAddon(artifact(damaged), 'here-koffi.node', sha256)).toThrow(/here-koffi\.node .* missing or damaged .*install the release again/);
    expect(() => loadEmbeddedAddon(artifact(koffi), 'there-koffi.node', sha256)).toThrow(/there-koffi\.node .* missing or damaged/);
    expect(readdirSync(scratch)).toEqual([]);
  });
});
