import { Command } from 'commander';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addDaemonCommands } from '../commands/daemons';
import { defaultManager } from '../context';
import { addSettingOptions, applySettings } from './command-settings';
import { DAEMON_SETTINGS, type DaemonRole } from './daemon-settings';
import { attributeName } from './settings';

/*
 * The documented rule, flag > environment > file > default, for representative settings of each
 * kind, in every combination of being set or not in the three places. The commands are built
 * the way `trellis manager` and `trellis agent` build theirs, with --manager the program's.
 */

interface Row {
  role: DaemonRole;
  key: string;
  /** The YAML text of the value, the environment's text, the flag's arguments, and the values each gives. */
  file: { yaml: string; value: unknown };
  env: { text: string; value: unknown };
  flag: { args: string[]; value: unknown };
  default: unknown;
}

const ROWS: Row[] = [
  { role: 'manager', key: 'data-dir', default: '/var/lib/trellis/manager', file: { yaml: '/srv/file', value: '/srv/file' }, env: { text: '/srv/env', value: '/srv/env' }, flag: { args: ['--data-dir', '/srv/flag'], value: '/srv/flag' } },
  { role: 'manager', key: 'force-new-cluster', default: undefined, file: { yaml: 'true', value: true }, env: { text: 'false', value: false }, flag: { args: ['--force-new-cluster'], value: true } },
  {
    role: 'manager',
    key: 'default-addr-pool',
    default: [],
    file: { yaml: '[10.1.0.0/16, 10.2.0.0/16]', value: ['10.1.0.0/16', '10.2.0.0/16'] },
    env: { text: '10.3.0.0/16,10.4.0.0/16', value: ['10.3.0.0/16', '10.4.0.0/16'] },
    flag: { args: ['--default-addr-pool', '10.5.0.0/16'], value: ['10.5.0.0/16'] },
  },
  { role: 'manager', key: 'max-joins-per-minute', default: undefined, file: { yaml: '10', value: '10' }, env: { text: '20', value: '20' }, flag: { args: ['--max-joins-per-minute', '30'], value: '30' } },
  {
    role: 'agent',
    key: 'manager',
    default: defaultManager,
    file: { yaml: '[10.9.0.1:4240, 10.9.0.2:4240]', value: '10.9.0.1:4240,10.9.0.2:4240' },
    env: { text: '10.9.0.3:4240', value: '10.9.0.3:4240' },
    flag: { args: ['--manager', '10.9.0.4:4240'], value: '10.9.0.4:4240' },
  },
  { role: 'agent', key: 'resync-interval', default: '30s', file: { yaml: '10s', value: '10s' }, env: { text: '20s', value: '20s' }, flag: { args: ['--resync-interval', '40s'], value: '40s' } },
  { role: 'agent', key: 'reserved-ports', default: [], file: { yaml: '[22, 53/udp]', value: ['22', '53/udp'] }, env: { text: '2222', value: ['2222'] }, flag: { args: ['--reserved-ports', '9000,9001/udp'], value: ['9000,9001/udp'] } },
];

/** What the agent needs besides the setting under test, from flags so they never mask a file key. */
const AGENT_REQUIRED = ['--node', 'n1', '--advertise-addr', '198.18.0.9'];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'trellis-precedence-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The value a daemon's action would read for `key`, and where commander says it came from. */
function effective(role: DaemonRole, key: string, flagArgs: string[], env: NodeJS.ProcessEnv, fileText?: string, beforeVerb = false) {
  const program = new Command('trellis').option('--manager <host:port,...>', 'managers', defaultManager).exitOverride();
  let seen: { value: unknown; source: string | undefined } | undefined;
  addSettingOptions(program.command(role), role)
    .exitOverride()
    .action((_flags: unknown, command: Command) => {
      applySettings(command, role, env);
      const owner = key === 'manager' ? program : command;
      seen = { value: owner.opts<Record<string, unknown>>()[attributeName(key)], source: owner.getOptionValueSource(attributeName(key)) };
    });
  const path = join(dir, `${role}.yaml`);
  if (fileText !== undefined) writeFileSync(path, fileText);
  const configArgs = fileText === undefined ? [] : ['--config', path];
  const roleArgs = role === 'agent' ? AGENT_REQUIRED : [];
  // After the verb, as the lab and `trellis cluster join-token` write them, even --manager (the program's flag).
  const args = beforeVerb ? [...flagArgs, role, ...roleArgs, ...configArgs] : [role, ...roleArgs, ...configArgs, ...flagArgs];
  program.parse(args, { from: 'user' });
  return seen;
}

const COMMANDER_SOURCE = { flag: 'cli', env: 'env', file: 'config', default: 'default' } as const;

describe('a setting given in a file, the environment and as a flag', () => {
  const cases = ROWS.flatMap((row) =>
    [0, 1, 2, 3, 4, 5, 6, 7].map((bits) => ({ row, inFile: (bits & 1) !== 0, inEnv: (bits & 2) !== 0, asFlag: (bits & 4) !== 0 })),
  );
  it.each(cases.map((c) => [`${c.row.role} ${c.row.key}: file ${c.inFile ? 'set' : '-'}, env ${c.inEnv ? 'set' : '-'}, flag ${c.asFlag ? 'set' : '-'}`, c]))(
    '%s → the documented winner',
    (_name, { row, inFile, inEnv, asFlag }) => {
      const env: NodeJS.ProcessEnv = inEnv ? { [`TRELLIS_${row.key.toUpperCase().replace(/-/g, '_')}`]: row.env.text } : {};
      const fileText = inFile ? `${row.key}: ${row.file.yaml}\n` : undefined;
      const winner = asFlag ? 'flag' : inEnv ? 'env' : inFile ? 'file' : 'default';
      const expected = winner === 'default' ? row.default : row[winner].value;
      const seen = effective(row.role, row.key, asFlag ? row.flag.args : [], env, fileText);
      expect(seen?.value).toEqual(expected);
      if (expected !== undefined) expect(seen?.source).toBe(COMMANDER_SOURCE[winner]);
    },
  );
});

it('takes --manager before the verb too, as the program flag it is', () => {
  expect(effective('agent', 'manager', ['--manager', '10.9.0.4:4240'], {}, 'manager: [10.9.0.1:4240]\n', true)).toEqual({ value: '10.9.0.4:4240', source: 'cli' });
});

describe('the join token, given as a token or as a file holding it', () => {
  const tokenFile = () => join(dir, 'token');
  const run = (argv: string[], env: NodeJS.ProcessEnv, fileText?: string) => {
    let seen: { joinToken?: string; joinTokenFile?: string } = {};
    const command = addSettingOptions(new Command('manager'), 'manager').exitOverride();
    const path = join(dir, 'tokens-manager.yaml');
    if (fileText !== undefined) writeFileSync(path, fileText);
    command.action((_flags: unknown, actionCommand: Command) => {
      applySettings(actionCommand, 'manager', env);
      const { joinToken, joinTokenFile } = actionCommand.opts<{ joinToken?: string; joinTokenFile?: string }>();
      seen = { joinToken, joinTokenFile };
    });
    command.parse([...(fileText === undefined ? [] : ['--config', path]), ...argv], { from: 'user' });
    return seen;
  };

  it('is one setting: the highest place that gives either form wins, the other form from below is ignored', () => {
    expect(run([], { TRELLIS_JOIN_TOKEN: 'TRLS-env' }, `join-token-file: ${tokenFile()}\n`)).toEqual({ joinToken: 'TRLS-env' });
    expect(run(['--join-token-file', tokenFile()], { TRELLIS_JOIN_TOKEN: 'TRLS-env' })).toEqual({ joinTokenFile: tokenFile() });
    expect(run(['--join-token-file', tokenFile()], {}, 'join-token: TRLS-file\n')).toEqual({ joinTokenFile: tokenFile() });
    expect(run([], {}, 'join-token: TRLS-file\n')).toEqual({ joinToken: 'TRLS-file' });
  });

  it('is refused in both forms from one place, naming the line', () => {
    expect(() => run([], {}, `join-token: TRLS-file\njoin-token-file: ${tokenFile()}\n`)).toThrow(/tokens-manager\.yaml:2: key "join-token-file": give join-token or join-token-file, not both/);
    expect(() => run([], { TRELLIS_JOIN_TOKEN: 'a', TRELLIS_JOIN_TOKEN_FILE: tokenFile() })).toThrow(/TRELLIS_JOIN_TOKEN: give join-token-file or join-token, not both/);
  });
});

describe('the tables', () => {
  /** The daemons as the CLI builds them, under a program with its global --manager. */
  const program = new Command('trellis').option('--manager <host:port,...>', 'managers', defaultManager).option('--tls-dir <dir>', 'admin');
  addDaemonCommands(program);

  it.each(['manager', 'agent'] as const)('give every flag of `trellis %s` a config key and an environment variable, and nothing else', (role) => {
    const command = program.commands.find((c) => c.name() === role);
    // --config names the file; --remove-all is an action (the agent's objects removed instead of running), not a setting.
    const notSettings = ['config', 'remove-all'];
    const flags = (command?.options ?? []).map((option) => option.long?.replace(/^--/, '')).filter((flag) => !notSettings.includes(flag ?? ''));
    const { definitions } = DAEMON_SETTINGS[role];
    expect(definitions.filter((definition) => !definition.global).map((definition) => definition.key).sort()).toEqual([...(flags as string[])].sort());
    for (const definition of definitions.filter((d) => d.global)) {
      expect(program.options.map((option) => option.long)).toContain(`--${definition.key}`);
    }
  });
});
