/**
 * Clearing flows over ctnetlink inside a namespace the test creates: exactly the entries that
 * match (by VIP, or by VIP and answering backend) go, the others stay, and the agent's own
 * conntrack table is not touched.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { ConntrackSession } from './conntrack-in-namespace';

const NAMESPACE = `trnct-${process.pid}`;
const PATH = `/run/netns/${NAMESPACE}`;
const inside = (...argv: string[]): string => execFileSync('ip', ['netns', 'exec', NAMESPACE, ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A TCP flow client:port → vip:80 answered by backend:8080, as DNAT leaves it. */
function flow(client: string, port: number, vip: string, backend: string): void {
  inside('conntrack', '-I', '-p', 'tcp', '-s', client, '-d', vip, '--sport', String(port), '--dport', '80', '-r', backend, '-q', client, '--reply-port-src', '8080', '--reply-port-dst', String(port), '--state', 'ESTABLISHED', '-t', '600');
}

const flows = (): string[] =>
  inside('conntrack', '-L')
    .split('\n')
    .filter((line) => line.startsWith('tcp'))
    // The original destination, then the reply's source: the backend that answers.
    .map((line) => `${/dst=(\S+)/.exec(line)?.[1] ?? '?'} via ${[...line.matchAll(/src=(\S+)/g)][1]?.[1] ?? '?'}`)
    .sort();

describe('conntrack in a network namespace', () => {
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', NAMESPACE]);
  });

  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NAMESPACE]);
  });

  it('deletes the flows to a backend behind a VIP and those of a whole VIP, and nothing else', () => {
    flow('10.0.0.1', 1001, '10.99.0.1', '10.1.0.1');
    flow('10.0.0.1', 1002, '10.99.0.1', '10.1.0.2');
    flow('10.0.0.2', 1003, '10.99.0.1', '10.1.0.1');
    flow('10.0.0.1', 1004, '10.99.0.2', '10.1.0.1');
    flow('10.0.0.1', 1005, '10.99.0.3', '10.1.0.3');
    flow('10.0.0.1', 1006, '10.99.0.3', '10.1.0.4');
    const session = new ConntrackSession();
    try {
      expect(session.deleteFlows(PATH, [{ vip: '10.99.0.1', backend: '10.1.0.1' }, { vip: '10.99.0.3' }])).toBe(4);
      expect(flows()).toEqual(['10.99.0.1 via 10.1.0.2', '10.99.0.2 via 10.1.0.1']);
      // Already gone: nothing to do, no error.
      expect(session.deleteFlows(PATH, [{ vip: '10.99.0.3' }])).toBe(0);
    } finally {
      session.close();
    }
    expect(flows()).toHaveLength(2);
  });

  it('names the namespace it cannot enter', () => {
    const session = new ConntrackSession();
    try {
      expect(() => session.deleteFlows(`${PATH}-absent`, [{ vip: '10.99.0.1' }])).toThrow(/cannot open the network namespace .*-absent/);
    } finally {
      session.close();
    }
  });
});
