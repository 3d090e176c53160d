import { parseConfig } from './config-file';
import { AGENT_SETTINGS, MANAGER_SETTINGS } from './daemon-settings';
import { resolveSettings, type SettingDefinition } from './settings';

/** What a daemon would say about `text` as its config file, with nothing else given. */
function problems(text: string, definitions: readonly SettingDefinition[] = MANAGER_SETTINGS, env: NodeJS.ProcessEnv = {}, worldReadable = false) {
  const file = parseConfig('/etc/trellis/manager.yaml', text, worldReadable);
  return resolveSettings(definitions, { flags: new Map(), env, file });
}

describe('a bad config file', () => {
  it('names an unknown key, its line and the closest known key', () => {
    const { errors } = problems('log-level: info\nlisten: 10.0.0.1:4240\ndata_dir: /srv\n');
    expect(errors).toEqual(['/etc/trellis/manager.yaml:3: key "data_dir": unknown setting; did you mean "data-dir"?']);
    expect(problems('whatever: 1\n').errors[0]).toMatch(/:1: key "whatever": unknown setting; the settings are listen, data-dir, /);
  });

  it('names a value of the wrong type with the way to write it', () => {
    expect(problems('force-new-cluster: yes\n').errors).toEqual([
      '/etc/trellis/manager.yaml:1: key "force-new-cluster": "yes" is not a boolean; write force-new-cluster: true (or false)',
    ]);
    expect(problems('\n\nlisten: [a, b]\n').errors).toEqual([
      '/etc/trellis/manager.yaml:3: key "listen": a list is not a string; write listen: <host:port> (quote it if YAML reads it as something else)',
    ]);
    expect(problems('default-addr-pool: 10.0.0.0/8\n').errors[0]).toMatch(/:1: key "default-addr-pool": "10.0.0.0\/8" is not a list; write a YAML list, e.g. default-addr-pool: \[cidr, \.\.\.\]/);
    expect(problems('max-joins-per-minute: 1.5\n').errors[0]).toMatch(/:1: key "max-joins-per-minute": number 1.5 is not a whole number; write a whole number/);
    expect(problems('data-dir:\n').errors[0]).toMatch(/:1: key "data-dir": has no value; write data-dir: <dir>/);
  });

  it('names the line of the bad item in a list', () => {
    expect(problems('default-addr-pool:\n  - 10.0.0.0/8\n  - {base: 10.1.0.0/16}\n').errors).toEqual([
      '/etc/trellis/manager.yaml:3: key "default-addr-pool": item 2, a mapping, is not a cidr; write a YAML list, e.g. default-addr-pool: [cidr, ...]',
    ]);
  });

  it("refuses a value the flag refuses, with the flag's own reason", () => {
    expect(problems('listen: 0.0.0.0:4240\n').errors).toEqual([
      '/etc/trellis/manager.yaml:1: key "listen": "0.0.0.0:4240" is not an address other managers can reach; give this host\'s address, e.g. 198.18.0.1:4240',
    ]);
    expect(problems('log-level: loud\n').errors[0]).toMatch(/:1: key "log-level": "loud" is not allowed; give one of fatal, error, warn, info, debug, trace, silent/);
    const agent = 'node: n1\nadvertise-addr: 198.18.0.9\nreserved-ports: [22, 70000]\nresync-interval: soon\ngateway-subnet: 172.29.0.1/16\n';
    expect(problems(agent, AGENT_SETTINGS).errors).toEqual([
      '/etc/trellis/manager.yaml:3: key "reserved-ports": 70000 in "70000" is out of range; ports are 1 to 65535',
      '/etc/trellis/manager.yaml:4: key "resync-interval": "soon" is not a duration; use e.g. 30s or 500ms',
      '/etc/trellis/manager.yaml:5: key "gateway-subnet": "172.29.0.1/16" is not an IPv4 network of /29 or larger (host bits zero); give e.g. 172.29.0.0/16',
    ]);
  });

  it('names the line of a YAML syntax error, and the key when there is one', () => {
    expect(problems('listen: 10.0.0.1:4240\nlog-level: info\nlisten: 10.0.0.2:4240\n').errors).toEqual([
      '/etc/trellis/manager.yaml:3: key "listen": Map keys must be unique; set each key once',
    ]);
    expect(problems('log-level: info\n\tlisten: x\n').errors[0]).toMatch(/^\/etc\/trellis\/manager\.yaml:2: Tabs are not allowed as indentation; indent with spaces, not tabs$/);
    expect(problems('listen: 10.0.0.1:4240\nlog-level: "info\n').errors).toEqual(['/etc/trellis/manager.yaml:2: key "log-level": Missing closing "quote; fix the YAML there']);
    expect(problems('log-level: info\n---\nlisten: 10.0.0.1:4240\n').errors).toEqual([
      '/etc/trellis/manager.yaml:2: the file holds more than one YAML document; keep one: remove the `---` line',
    ]);
    expect(problems('- listen: x\n').errors).toEqual(['/etc/trellis/manager.yaml:1: the file must be a mapping of settings, one "key: value" a line, e.g. "log-level: info"']);
  });

  it('reports every problem at once, so one round of fixes is enough', () => {
    expect(problems('lsten: x\nlog-level: loud\nforce-new-cluster: 1\n').errors.map((error) => error.split(': ')[0])).toEqual([
      '/etc/trellis/manager.yaml:1',
      '/etc/trellis/manager.yaml:2',
      '/etc/trellis/manager.yaml:3',
    ]);
  });

  it('is none when empty or only comments: the defaults stand', () => {
    for (const text of ['', '# nothing set yet\n']) {
      const { errors, settings } = problems(text);
      expect(errors).toEqual([]);
      expect(settings.find((setting) => setting.definition.key === 'data-dir')).toEqual(expect.objectContaining({ value: '/var/lib/trellis/manager', source: 'default' }));
    }
  });
});

describe('the other places a setting comes from', () => {
  it('names a bad environment variable and the fix', () => {
    expect(problems('', MANAGER_SETTINGS, { TRELLIS_FORCE_NEW_CLUSTER: 'maybe', TRELLIS_MAX_JOINS_PER_MINUTE: 'many' }).errors).toEqual([
      'TRELLIS_FORCE_NEW_CLUSTER: "maybe" is not a boolean; set true or false',
      'TRELLIS_MAX_JOINS_PER_MINUTE: "many" is not a whole number',
    ]);
  });

  it('names a required setting given nowhere, with the three ways to give it', () => {
    expect(problems('node: n1\n', AGENT_SETTINGS).errors).toEqual([
      '--advertise-addr: required; give --advertise-addr <ip>, set TRELLIS_ADVERTISE_ADDR, or put "advertise-addr:" in /etc/trellis/manager.yaml',
    ]);
    // Given, but refused: the refusal alone is the news.
    expect(problems('node: 7\nadvertise-addr: 198.18.0.9\n', AGENT_SETTINGS).errors).toEqual([
      '/etc/trellis/manager.yaml:1: key "node": number 7 is not a string; write node: <name> (quote it if YAML reads it as something else)',
    ]);
  });
});

describe('a join token in a config file', () => {
  it('is taken, with a warning when every local user can read the file', () => {
    const readable = problems('join-token: TRLS-1-abc\n', MANAGER_SETTINGS, {}, true);
    expect(readable.errors).toEqual([]);
    expect(readable.settings.find((setting) => setting.definition.key === 'join-token')?.value).toBe('TRLS-1-abc');
    expect(readable.warnings).toEqual([
      '/etc/trellis/manager.yaml:1: key "join-token": /etc/trellis/manager.yaml is readable by every local user; chmod o-r /etc/trellis/manager.yaml, or put the value in a file of its own (mode 600) and name that file instead',
    ]);
    expect(problems('join-token: TRLS-1-abc\n', MANAGER_SETTINGS, {}, false).warnings).toEqual([]);
  });
});
