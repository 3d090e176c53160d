import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeSha256 } from '../../deploy/throwaway-root';
import { releaseCopy } from './plan';
import { takeRelease } from './release';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trlab-release-'));
const repoRoot = path.join(dir, 'repo');
const labDir = path.join(dir, 'lab');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function artifact(at: string, content: string): string {
  fs.mkdirSync(path.dirname(at), { recursive: true });
  fs.writeFileSync(at, content);
  writeSha256(at);
  return at;
}

describe('the artifact of `lab up --from-release`', () => {
  it('is dist/release/trellis by default, and when it is missing the lab says what to run', () => {
    expect(() => takeRelease(repoRoot, labDir)).toThrow(
      `--from-release: no release artifact at ${repoRoot}/dist/release/trellis; build it with \`npm run release\` (it writes dist/release/trellis and its .sha256)`,
    );
    expect(() => takeRelease(repoRoot, labDir, path.join(dir, 'nowhere'))).toThrow(/no release artifact at .*nowhere; give the path of a release artifact/);
  });

  it('is refused when its checksum does not match, or is missing, as install.sh refuses it', () => {
    const given = artifact(path.join(dir, 'changed', 'trellis'), 'release a');
    fs.appendFileSync(given, '// changed');
    expect(() => takeRelease(repoRoot, labDir, given)).toThrow(/has sha256 [0-9a-f]{64}, but .*trellis\.sha256 says [0-9a-f]{64}; rebuild it/);
    fs.rmSync(`${given}.sha256`);
    expect(() => takeRelease(repoRoot, labDir, given)).toThrow(/no checksum .*trellis\.sha256 beside the artifact/);
    expect(fs.existsSync(labDir)).toBe(false);
  });

  it("is copied into the lab by its checksum, so that a rebuild does not change what a restart runs", () => {
    const built = artifact(path.join(repoRoot, 'dist', 'release', 'trellis'), 'release b');
    const taken = takeRelease(repoRoot, labDir);
    expect(taken.source).toBe(built);
    expect(taken.artifact).toBe(releaseCopy(labDir, taken.sha256));
    artifact(built, 'release c');
    expect(fs.readFileSync(taken.artifact, 'utf8')).toBe('release b');
    expect(fs.statSync(taken.artifact).mode & 0o777).toBe(0o755);
  });
});
