/**
 * The lab for real, with a stand-in daemon (`sleep infinity`) so that it does not depend on the
 * trellis daemons: namespaces, the underlay, exec, restarts, and a `down` that leaves nothing.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { networkNetnsName } from '../../agent/kernel/names';
import { OWNER_TAG_PREFIX } from '../../agent/reconcile';
import { findRepoRoot, type LabContext } from './context';
import { down, execInHost, startHost, status, stopHost, up } from './lab';
import { deleteNamespace, listNamespaces } from './namespaces';
import { isLabNamespace } from './plan';
import { isRunning } from './processes';
import { run } from './run';
import { readState, removeState, statePath } from './state';

const notes: string[] = [];
const ctx: LabContext = {
  repoRoot: findRepoRoot(__dirname),
  labDir: fs.mkdtempSync(path.join(os.tmpdir(), 'trlab-test-')),
  nodePath: process.execPath,
  note: (message) => notes.push(message),
};
const standInLab = { managers: 1, agents: 2, readyTimeoutMs: 0, standIn: true };
const quiet = (host: string, command: string[]) => execInHost(ctx, host, command, 'ignore');

async function labNamespaces(): Promise<string[]> {
  return (await listNamespaces()).filter(isLabNamespace).sort();
}

/** What the agent of a1 (owner tag: its address) names a network's namespace, and what another owner's agent does. */
const a1Address = '198.18.0.11';
const a1Network = networkNetnsName(a1Address, 4096);
const foreignNetwork = networkNetnsName('192.0.2.1', 4096);
const foreignSandbox = 'trsb-labtest-foreign';

/** A sandbox namespace whose loopback carries an agent's owner tag, as agents make them. */
async function tagSandbox(name: string, ownerAddress: string): Promise<void> {
  await run(['ip', 'netns', 'add', name]);
  await run(['ip', '-n', name, 'link', 'set', 'lo', 'alias', `${OWNER_TAG_PREFIX}${ownerAddress}`]);
}

/** Another owner's network and sandbox namespaces, there while `body` runs: down must leave them alone. */
async function withForeignNamespaces(body: () => Promise<void>): Promise<void> {
  await run(['ip', 'netns', 'add', foreignNetwork]);
  await tagSandbox(foreignSandbox, '192.0.2.1');
  try {
    await body();
  } finally {
    await deleteNamespace(foreignNetwork);
    await deleteNamespace(foreignSandbox);
  }
}

async function namespaceOf(pid: number): Promise<string> {
  return (await run(['ip', 'netns', 'identify', String(pid)])).trim();
}

/** Someone's lab already up on this machine: then nothing here may run, not even cleanup. */
const otherLab = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
  .split('\n')
  .map((line) => line.split(' ')[0])
  .filter(isLabNamespace);
const describeIfFree = otherLab.length === 0 ? describe : describe.skip;

if (otherLab.length > 0) {
  it('needs a machine where no lab is up', () => {
    throw new Error(`a lab is already up on this machine (${otherLab.join(', ')}); not touching it`);
  });
}

afterAll(async () => {
  try {
    if (otherLab.length === 0) await down(ctx);
  } finally {
    fs.rmSync(ctx.labDir, { recursive: true, force: true });
  }
});

describeIfFree('a lab of one manager and two agents', () => {
  beforeAll(async () => {
    await up(ctx, standInLab);
  });

  it('makes a namespace per host plus the underlay, and records the lab', async () => {
    expect(await labNamespaces()).toEqual(['trlab-a1', 'trlab-a2', 'trlab-m1', 'trlab-underlay']);
    const state = status(ctx);
    expect(state.manager).toBe('198.18.0.1:4240');
    expect(state.labDir).toBe(ctx.labDir);
    expect(state.hosts.map((h) => [h.name, h.role, h.address])).toEqual([
      ['m1', 'manager', '198.18.0.1'],
      ['a1', 'agent', '198.18.0.11'],
      ['a2', 'agent', '198.18.0.12'],
    ]);
    expect(readState(ctx.labDir)).toEqual(state);
  });

  it('runs each daemon inside its own host, logging to the host log', async () => {
    for (const host of status(ctx).hosts) {
      expect(host.pid).not.toBeNull();
      expect(await namespaceOf(host.pid ?? 0)).toBe(host.namespace);
      expect(fs.readFileSync(host.log, 'utf8')).toContain('starting: sleep infinity');
    }
  });

  it('connects the hosts over the underlay', async () => {
    expect(await quiet('m1', ['ping', '-c1', '-W2', '198.18.0.11'])).toBe(0);
    expect(await quiet('a1', ['ping', '-c1', '-W2', '198.18.0.1'])).toBe(0);
    expect(await quiet('a2', ['ping', '-c1', '-W2', '198.18.0.11'])).toBe(0);
  });

  it('keeps lab links out of the root namespace', async () => {
    expect(await run(['ip', '-br', 'link'])).not.toContain('trlab');
  });

  it('passes the exit code through and presets trellis for exec', async () => {
    expect(await quiet('a1', ['sh', '-c', 'exit 3'])).toBe(3);
    const env = `test "$TRELLIS_MANAGER" = 198.18.0.1:4240 && test "$(command -v trellis)" = ${ctx.repoRoot}/bin/trellis`;
    expect(await quiet('a1', ['sh', '-c', env])).toBe(0);
    await expect(quiet('a9', ['true'])).rejects.toThrow('no host "a9" in this lab; hosts: m1, a1, a2');
  });

  it('refuses a second up and suggests down', async () => {
    await expect(up(ctx, standInLab)).rejects.toThrow(/already up.*lab -- down/);
  });

  it('kills, starts and stops a host', async () => {
    const killed = await stopHost(ctx, 'a1', 'SIGKILL');
    expect(killed.pid).toBeNull();
    expect(status(ctx).hosts.find((h) => h.name === 'a1')?.pid).toBeNull();

    const started = await startHost(ctx, 'a1');
    expect(await namespaceOf(started.pid ?? 0)).toBe('trlab-a1');
    await expect(startHost(ctx, 'a1')).rejects.toThrow('a1 is already running');

    const stopped = await stopHost(ctx, 'a1', 'SIGTERM');
    expect(stopped.pid).toBeNull();
    expect(isRunning(started)).toBe(false);
  });

  it('adds environment to one start only', async () => {
    // Read once the daemon has exec'd: a process caught mid-exec shows an empty environment.
    const environOf = async (pid: number | null): Promise<string[]> => {
      for (let attempt = 0; attempt < 100; attempt += 1) {
        const environ = fs.readFileSync(`/proc/${pid ?? 0}/environ`, 'utf8');
        if (environ !== '') return environ.split('\0');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return [];
    };
    await stopHost(ctx, 'a2', 'SIGKILL');
    const hooked = await startHost(ctx, 'a2', { TRELLIS_LAB_TEST_HOOK: '2' });
    expect(await environOf(hooked.pid)).toContain('TRELLIS_LAB_TEST_HOOK=2');
    expect(fs.readFileSync(hooked.log, 'utf8')).toContain('starting: TRELLIS_LAB_TEST_HOOK=2 sleep infinity');

    await stopHost(ctx, 'a2', 'SIGKILL');
    const plain = await startHost(ctx, 'a2');
    expect((await environOf(plain.pid)).filter((entry) => entry.startsWith('TRELLIS_LAB_TEST_HOOK='))).toEqual([]);
  });

  it("tears everything down, the lab agents' sandboxes and network namespaces included, not another agent's, and can do it again", async () => {
    await tagSandbox('trsb-labtest', a1Address);
    await run(['ip', 'netns', 'add', a1Network]);
    const daemons = status(ctx).hosts.filter((h) => h.pid !== null);
    await withForeignNamespaces(async () => {
      await down(ctx);
      expect(await labNamespaces()).toEqual([]);
      expect(await listNamespaces()).not.toContain('trsb-labtest');
      expect(await listNamespaces()).not.toContain(a1Network);
      expect(await listNamespaces()).toEqual(expect.arrayContaining([foreignNetwork, foreignSandbox]));
    });
    expect(await run(['ip', '-br', 'link'])).not.toContain('trlab');
    for (const host of daemons) expect(isRunning(host)).toBe(false);
    expect(fs.existsSync(statePath(ctx.labDir))).toBe(false);
    await down(ctx);
    expect(() => status(ctx)).toThrow('no lab is up');
  });
});

describeIfFree('down after a crash that lost the state file', () => {
  it("still removes every lab namespace and the agents' network namespaces", async () => {
    const state = await up(ctx, { ...standInLab, agents: 1 });
    await run(['ip', 'netns', 'add', a1Network]);
    removeState(ctx.labDir);
    try {
      await down(ctx);
      expect(await labNamespaces()).toEqual([]);
      expect(await listNamespaces()).not.toContain(a1Network);
      expect(notes.some((n) => n.includes('still in trlab-m1'))).toBe(true);
    } finally {
      // Without the state file down cannot know our stand-ins; they are ours to stop.
      for (const host of state.hosts) if (isRunning(host)) process.kill(host.pid ?? 0, 'SIGKILL');
      for (const namespace of await labNamespaces()) await deleteNamespace(namespace);
      if ((await listNamespaces()).includes(a1Network)) await deleteNamespace(a1Network);
    }
  });
});
