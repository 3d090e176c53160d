import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../deploy/throwaway-root';

/** CI installs vagrant (scripts/setup.sh --test); elsewhere this runs once `apt-get install vagrant` has. */
const hasVagrant = spawnSync('vagrant', ['--version']).status === 0;
const withVagrant = hasVagrant ? test : test.skip;

function validate(env: Record<string, string> = {}): { status: number | null; output: string } {
  // Vagrant keeps its per-project state in .vagrant beside the Vagrantfile unless told otherwise.
  const state = tempDir('vagrant');
  try {
    const run = spawnSync('vagrant', ['validate'], {
      cwd: __dirname,
      encoding: 'utf8',
      env: { ...process.env, VAGRANT_DOTFILE_PATH: join(state, '.vagrant'), VAGRANT_CHECKPOINT_DISABLE: '1', ...env },
    });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

describe('vagrant/Vagrantfile', () => {
  withVagrant('vagrant validate passes, with the defaults and with box, CPUs and memory set', () => {
    expect(validate()).toEqual({ status: 0, output: 'Vagrantfile validated successfully.\n' });
    expect(validate({ TRELLIS_BOX: 'bento/debian-12', TRELLIS_CPUS: '4', TRELLIS_MEMORY: '2048' }).status).toBe(0);
  });

  withVagrant('a setting that is not a number is refused, naming it', () => {
    const result = validate({ TRELLIS_MEMORY: 'lots' });
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('invalid value for Integer(): "lots"');
  });

  test('every machine is provisioned by provision.sh, the script provision.test.ts runs', () => {
    const vagrantfile = readFileSync(join(__dirname, 'Vagrantfile'), 'utf8');
    expect(vagrantfile.match(/vm\.provision "shell", path: "provision\.sh"/g)).toHaveLength(1);
    expect(vagrantfile).not.toMatch(/inline:/);
  });
});
