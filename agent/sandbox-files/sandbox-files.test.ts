import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { local, remote, sampleView, sandbox } from '../reconcile/test-fixtures';
import { sandboxFiles } from './render';
import { SandboxFileWriter } from './writer';

const configured = { ...local, hostname: 'web-1', extraHosts: ['db.local:10.9.9.9', 'db.local:10.9.9.9'], dns: ['198.18.0.53', '198.18.0.54'] };

describe('sandbox files', () => {
  it('resolves the hostname to every local address, adds --add-host entries once, and names the agent’s resolver (the --dns servers are its upstreams)', () => {
    const eth1 = { ...configured, id: 'e3', ip: '10.231.2.2', interfaceName: 'eth1', hostname: 'other', dns: ['198.18.0.53'] };
    expect(sandboxFiles(sampleView({ endpoints: [eth1, configured, remote] }))).toEqual([
      {
        netns: 'trsb-web',
        hosts: '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.231.1.2\tweb-1\n10.231.2.2\tweb-1\n10.9.9.9\tdb.local\n',
        resolvConf: 'nameserver 127.0.0.11\noptions ndots:0\n',
      },
    ]);
  });

  it("names the agent's resolver also without --dns, names the sandbox after itself without --hostname, and skips adopted namespaces", () => {
    expect(sandboxFiles(sampleView())[0]).toMatchObject({ resolvConf: 'nameserver 127.0.0.11\noptions ndots:0\n', hosts: expect.stringContaining('10.231.1.2\tweb\n') });
    expect(sandboxFiles(sampleView({ sandboxes: [{ ...sandbox, netnsPath: '/run/netns/cni-1' }] }))).toEqual([]);
  });

  it('writes nothing for a host-mode sandbox (the host\'s /etc is the host\'s), and one set of files per shared namespace, of the sandbox that connects', () => {
    expect(sandboxFiles(sampleView({ sandboxes: [{ ...sandbox, networkMode: 'host' }] }))).toEqual([]);
    const sidecar = { ...sandbox, id: 's0', name: 'sidecar', sharesNetns: true };
    const files = sandboxFiles(sampleView({ sandboxes: [sidecar, { ...sandbox, sharesNetns: true }] }));
    expect(files).toHaveLength(1);
    expect(files[0]?.hosts).toContain('10.231.1.2\tweb\n');
    expect(sandboxFiles(sampleView({ sandboxes: [sidecar, { ...sandbox, sharesNetns: true }], endpoints: [] }))[0]?.hosts).not.toContain('web');
  });

  describe('writer', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'trellis-etc-netns-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("writes only what differs, puts nothing else in the namespace's directory, and removes its own sandboxes that left, not another agent's", () => {
      const mine = new SandboxFileWriter(join(dir, 'mine.ledger'), dir);
      const theirs = new SandboxFileWriter(join(dir, 'theirs.ledger'), dir);
      const files = sandboxFiles(sampleView({ endpoints: [configured] }));
      expect(mine.sync(files)).toHaveLength(2);
      expect(readFileSync(join(dir, 'trsb-web', 'resolv.conf'), 'utf8')).toBe('nameserver 127.0.0.11\noptions ndots:0\n');
      // `ip netns exec` mounts each file here over /etc: anything but hosts and resolv.conf would make it complain.
      expect(readdirSync(join(dir, 'trsb-web')).sort()).toEqual(['hosts', 'resolv.conf']);
      expect(mine.sync(files)).toEqual([]);
      theirs.sync([{ netns: 'trsb-theirs', hosts: 'x\n', resolvConf: 'nameserver 127.0.0.11\n' }]);

      expect(mine.sync([])).toEqual([join(dir, 'trsb-web')]);
      expect(existsSync(join(dir, 'trsb-web'))).toBe(false);
      expect(existsSync(join(dir, 'trsb-theirs', 'hosts'))).toBe(true);
    });

    it('touches in a scoped sync only sandboxes whose files changed; a full sync repairs a hand edit', () => {
      const writer = new SandboxFileWriter(join(dir, 'ledger'), dir);
      const files = sandboxFiles(sampleView({ endpoints: [configured] }));
      writer.sync(files, 'scoped');
      const hosts = join(dir, 'trsb-web', 'hosts');
      writeFileSync(hosts, 'edited by hand\n');

      expect(writer.sync(files, 'scoped')).toEqual([]);
      expect(readFileSync(hosts, 'utf8')).toBe('edited by hand\n');
      expect(writer.sync(files, 'full')).toEqual([hosts]);
      const renamed = files.map((entry) => ({ ...entry, hosts: `${entry.hosts}198.18.0.9 extra\n` }));
      expect(writer.sync(renamed, 'scoped')).toEqual([hosts]);
    });

    it('removes, after a restart, the directory of a sandbox that left while it was down', () => {
      const files = sandboxFiles(sampleView({ endpoints: [configured] }));
      new SandboxFileWriter(join(dir, 'state', 'ledger'), dir).sync(files);
      // The ledger is the agent's own: 0600 in a 0700 state dir.
      expect((statSync(join(dir, 'state', 'ledger')).mode & 0o777).toString(8)).toBe('600');
      expect((statSync(join(dir, 'state')).mode & 0o777).toString(8)).toBe('700');
      const restarted = new SandboxFileWriter(join(dir, 'state', 'ledger'), dir);
      expect(restarted.sync([])).toEqual([join(dir, 'trsb-web')]);
      expect(restarted.sync([])).toEqual([]);
    });
  });
});
