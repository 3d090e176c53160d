import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const repo = join(__dirname, '..');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

describe('generated protobuf code', () => {
  it('matches what buf generates from the .proto files (run `npm run generate` if not)', () => {
    const out = mkdtempSync(join(tmpdir(), 'trellis-gen-'));
    try {
      const template = readFileSync(join(repo, 'buf.gen.yaml'), 'utf8').replace('out: proto/gen', `out: ${out}`);
      const templatePath = join(out, 'buf.gen.yaml');
      writeFileSync(templatePath, template);
      execFileSync(join(repo, 'node_modules/.bin/buf'), ['generate', '--template', templatePath], { cwd: repo });
      const committed = join(repo, 'proto/gen');
      const generated = filesUnder(out).filter((file) => file !== 'buf.gen.yaml');
      expect(generated).toEqual(filesUnder(committed));
      for (const file of generated) {
        expect({ file, text: readFileSync(join(out, file), 'utf8') }).toEqual({
          file,
          text: readFileSync(join(committed, file), 'utf8'),
        });
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
