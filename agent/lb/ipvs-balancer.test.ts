import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandFailed, type CommandRunner } from '../kernel/command-runner';
import { detectIpvs } from './ipvs-balancer';

function runner(result: 'ok' | 'fails'): CommandRunner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    run(argv) {
      calls.push([...argv]);
      return result === 'ok' ? Promise.resolve('IP Virtual Server version 1.2.1 (size=4096)\n') : Promise.reject(new CommandFailed(argv, 2, "Can't initialize ipvs: Protocol not available"));
    },
  };
}

describe('detectIpvs', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'trellis-detect-ipvs-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('IPVS loaded: its /proc table exists, nothing is run', async () => {
    const proc = join(dir, 'ip_vs');
    writeFileSync(proc, '');
    const fake = runner('fails');
    await expect(detectIpvs(fake, proc)).resolves.toBe(true);
    expect(fake.calls).toEqual([]);
  });

  test('not loaded yet: ipvsadm -Ln asks the kernel, which has it or not', async () => {
    const absent = join(dir, 'missing');
    await expect(detectIpvs(runner('ok'), absent)).resolves.toBe(true);
    const failing = runner('fails');
    await expect(detectIpvs(failing, absent)).resolves.toBe(false);
    expect(failing.calls).toEqual([['ipvsadm', '-Ln']]);
  });
});
