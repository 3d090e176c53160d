import { daemonStatus, parseCmdline, parseStat, type DaemonRecord } from './daemon-identity';

const command = ['/usr/bin/node', '/repo/dist/cli/main.js', 'agent', '--node', 'a2'];
const launcher = ['nsenter', '--net=/run/netns/trlab-a2', '--', ...command];
const spawner = ['/usr/bin/node', '/repo/dist/e2e/lab/main.js', 'up', '--managers', '1', '--agents', '2'];
const record: DaemonRecord = { command, launcher, startTime: 81234, spawner };
const live = (argv: string[], state = 'R', startTime = 81234) => ({ state, startTime, argv });

describe('daemonStatus', () => {
  it('counts a daemon caught in the middle of its exec as starting, not exited (what `lab up` reported as "exited")', () => {
    // Recorded on this machine: while nsenter execs node the kernel shows an empty cmdline for a live process.
    expect(daemonStatus(live([], 'R'), record)).toBe('starting');
    expect(daemonStatus(live([], 'D'), record)).toBe('starting');
  });

  it("counts the spawner's fork before its exec and the nsenter launcher as starting", () => {
    expect(daemonStatus(live(spawner), record)).toBe('starting');
    expect(daemonStatus(live(launcher), record)).toBe('starting');
  });

  it('counts the command as running', () => {
    expect(daemonStatus(live(command, 'S'), record)).toBe('running');
  });

  it('counts a missing pid, a zombie and a dead process as exited', () => {
    expect(daemonStatus(undefined, record)).toBe('exited');
    expect(daemonStatus(live([], 'Z'), record)).toBe('exited');
    expect(daemonStatus(live(command, 'Z'), record)).toBe('exited');
    expect(daemonStatus(live([], 'X'), record)).toBe('exited');
  });

  it('counts another process that got the pid as exited, even one running the same command', () => {
    expect(daemonStatus(live(command, 'S', 99999), record)).toBe('exited');
    expect(daemonStatus(live([], 'R', 99999), record)).toBe('exited');
  });

  it('counts ours as exited once it exec\'d something else', () => {
    expect(daemonStatus(live(['/bin/sh', '-c', 'true']), record)).toBe('exited');
  });

  it('recognises a daemon of an older state file (no start time) by its argv alone', () => {
    const legacy: DaemonRecord = { command, launcher };
    expect(daemonStatus(live(command, 'S', 5), legacy)).toBe('running');
    expect(daemonStatus(live(launcher, 'R', 5), legacy)).toBe('starting');
    expect(daemonStatus(live([], 'R', 5), legacy)).toBe('exited');
    expect(daemonStatus(live(spawner, 'R', 5), legacy)).toBe('exited');
    expect(daemonStatus(live(command, 'Z', 5), legacy)).toBe('exited');
  });
});

describe('parseStat', () => {
  it('reads the state and the start time even when the command name holds spaces and parentheses', () => {
    const fields = Array.from({ length: 49 }, (_, i) => String(i + 3));
    fields[0] = 'S';
    fields[19] = '4242';
    expect(parseStat(`123 (a) b (c) ${fields.join(' ')}\n`)).toEqual({ state: 'S', startTime: 4242 });
  });

  it('refuses a line that is not a stat line', () => {
    expect(() => parseStat('nonsense')).toThrow('unreadable /proc stat line');
  });
});

describe('parseCmdline', () => {
  it('splits at NUL and reads an empty cmdline as no arguments', () => {
    expect(parseCmdline('sleep\0infinity\0')).toEqual(['sleep', 'infinity']);
    expect(parseCmdline('')).toEqual([]);
    expect(parseCmdline('a\0\0b\0')).toEqual(['a', '', 'b']);
  });
});
