import { Command } from 'commander';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError } from './control-client';
import { addSettingOptions, applySettings } from './config/command-settings';
import { commandJoinToken, joinTokenFrom, VISIBLE_TOKEN_WARNING } from './join-token-source';

describe('where a daemon takes its join token from', () => {
  let dir: string;
  const warnings: string[] = [];
  const warn = (message: string) => void warnings.push(message);
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-token-'));
    warnings.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads --join-token-file, trimmed, without a warning', () => {
    writeFileSync(join(dir, 'token'), 'TRLS-1-abc-def\n');
    expect(joinTokenFrom({ joinTokenFile: join(dir, 'token') }, { TRELLIS_JOIN_TOKEN: 'other' }, warn)).toBe('TRLS-1-abc-def');
    expect(warnings).toEqual([]);
  });

  it('takes TRELLIS_JOIN_TOKEN when no flag is given', () => {
    expect(joinTokenFrom({}, { TRELLIS_JOIN_TOKEN: ' TRLS-1-env \n' }, warn)).toBe('TRLS-1-env');
    expect(joinTokenFrom({}, {}, warn)).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it('still takes --join-token, warning that ps shows it', () => {
    expect(joinTokenFrom({ joinToken: 'TRLS-1-flag' }, {}, warn)).toBe('TRLS-1-flag');
    expect(warnings).toEqual([VISIBLE_TOKEN_WARNING]);
    expect(VISIBLE_TOKEN_WARNING).toMatch(/visible to every local user in `ps`.*--join-token-file.*TRELLIS_JOIN_TOKEN/);
  });

  it('refuses both flags at once, a missing file and an empty one, naming the flag', () => {
    writeFileSync(join(dir, 'empty'), '\n');
    expect(() => joinTokenFrom({ joinToken: 'a', joinTokenFile: join(dir, 'empty') }, {}, warn)).toThrow(/--join-token-file: give the join token one way/);
    expect(() => joinTokenFrom({ joinTokenFile: join(dir, 'missing') }, {}, warn)).toThrow(CommandError);
    expect(() => joinTokenFrom({ joinTokenFile: join(dir, 'missing') }, {}, warn)).toThrow(/--join-token-file: cannot read/);
    expect(() => joinTokenFrom({ joinTokenFile: join(dir, 'empty') }, {}, warn)).toThrow(/--join-token-file: .* is empty/);
  });
});

describe("a daemon's join token from its flags, environment and config file", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-token-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The token `trellis agent` would use, and the warnings it would log. */
  function agentToken(args: string[], env: NodeJS.ProcessEnv, fileText = ''): { token: string | undefined; warnings: string[] } {
    writeFileSync(join(dir, 'agent.yaml'), fileText);
    const warnings: string[] = [];
    let token: string | undefined;
    addSettingOptions(new Command('agent'), 'agent', true)
      .exitOverride()
      .action((_flags: unknown, command: Command) => {
        applySettings(command, 'agent', env);
        token = commandJoinToken(command, env, (message) => void warnings.push(message));
      })
      .parse(['--node', 'n1', '--advertise-addr', '198.18.0.9', '--config', join(dir, 'agent.yaml'), ...args], { from: 'user' });
    return { token, warnings };
  }

  it('warns that ps shows it only when it was typed as --join-token', () => {
    expect(agentToken(['--join-token', 'TRLS-flag'], {})).toEqual({ token: 'TRLS-flag', warnings: [VISIBLE_TOKEN_WARNING] });
    expect(agentToken([], { TRELLIS_JOIN_TOKEN: 'TRLS-env' })).toEqual({ token: 'TRLS-env', warnings: [] });
    expect(agentToken([], {}, 'join-token: TRLS-file\n')).toEqual({ token: 'TRLS-file', warnings: [] });
  });

  it('reads join-token-file named in the config file, unless the environment gives the token', () => {
    writeFileSync(join(dir, 'token'), 'TRLS-in-file\n');
    expect(agentToken([], {}, `join-token-file: ${join(dir, 'token')}\n`).token).toBe('TRLS-in-file');
    expect(agentToken([], { TRELLIS_JOIN_TOKEN: 'TRLS-env' }, `join-token-file: ${join(dir, 'token')}\n`).token).toBe('TRLS-env');
  });
});
