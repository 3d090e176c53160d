import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Argument, Command } from 'commander';
import { bashCompletion } from './completion';
import { buildProgram } from './program';

/** A program shaped like trellis: a global flag with a value, groups, verbs, a choice and a directory. */
function program(): Command {
  const root = new Command('trellis').option('--manager <host:port>', 'managers');
  const network = root.command('network').description('manage overlay networks');
  network.command('create').option('--subnet <cidr>', 'subnet').option('--internal', 'no egress');
  network.command('connect');
  network.command('ls').option('--format <format>', 'output format');
  network.commands[2]?.options[0]?.choices(['table', 'json']);
  root.command('cluster').command('init').option('--data-dir <dir>', 'data');
  root.command('completion').addArgument(new Argument('<shell>').choices(['bash', 'zsh']));
  return root;
}

/** Writes `root`'s bash completion to a temporary file; `complete` says what bash offers after typing `words` (the last one being completed). */
function bashCompleter(root: Command): { dir: string; complete: (...words: string[]) => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-completion-'));
  const script = join(dir, 'trellis.bash');
  writeFileSync(script, bashCompletion(root));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const complete = (...words: string[]): string[] => {
    const shell = `source ${script}; COMP_WORDS=(${words.map((word) => `'${word}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _trellis; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const result = spawnSync('bash', ['-c', shell], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    return result.stdout.split('\n').filter((line) => line !== '');
  };
  return { dir, complete };
}

describe('bash completion', () => {
  const { dir, complete } = bashCompleter(program());

  it('offers the command groups, then their verbs by prefix', () => {
    expect(complete('trellis', '')).toEqual(['network', 'cluster', 'completion']);
    expect(complete('trellis', 'network', 'c')).toEqual(['create', 'connect']);
  });

  it("offers a command's argument choices", () => {
    expect(complete('trellis', 'completion', '')).toEqual(['bash', 'zsh']);
  });

  it('skips flag values on the way, so they are not taken for commands', () => {
    expect(complete('trellis', '--manager', 'network', 'network', 'c')).toEqual(['create', 'connect']);
    expect(complete('trellis', 'network', 'create', '--subnet', '10.0.0.0/24', '--')).toEqual(['--subnet', '--internal', '--help']);
  });

  it("completes a flag's value: its choices, or directories", () => {
    expect(complete('trellis', 'network', 'ls', '--format', '')).toEqual(['table', 'json']);
    expect(complete('trellis', 'cluster', 'init', '--data-dir', dir)).toEqual([dir]);
  });
});

describe("bash completion of trellis's own commands", () => {
  const { complete } = bashCompleter(buildProgram());

  it('knows service update and its flags, the timeouts of service create, and network disconnect --force', () => {
    expect(complete('trellis', 'service', 'u')).toEqual(['update']);
    expect(complete('trellis', 'service', 'update', '--publish-add', '8080:80', '--')).toEqual(
      expect.arrayContaining(['--publish-add', '--publish-rm', '--drain-timeout', '--idle-timeout-tcp', '--idle-timeout-udp']),
    );
    expect(complete('trellis', 'service', 'create', '--i')).toEqual(['--idle-timeout-tcp', '--idle-timeout-udp']);
    expect(complete('trellis', 'service', 'create', '--d')).toEqual(['--drain-timeout']);
    expect(complete('trellis', 'network', 'disconnect', '--f')).toEqual(['--force']);
  });
});
