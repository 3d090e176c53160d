import pino from 'pino';
import { CRASH_AFTER_BATCHES_ENV, crashAfterBatches, kernelRunner } from './crash-after-batches';
import { CommandFailed, processRunner, type CommandRunner } from './kernel';

describe('the crash-after-batches test hook', () => {
  const silent = pino({ level: 'silent' });
  const batch = ['ip', '-force', '-batch', '-'];

  it('calls crash right after the Nth batch, failed or not, and never for reads', async () => {
    const calls: string[] = [];
    const inner: CommandRunner = {
      run: async (argv) => {
        calls.push(argv.join(' '));
        if (argv[0] === 'bridge') throw new CommandFailed(argv, 1, 'RTNETLINK answers: File exists');
        return 'out';
      },
    };
    let crashedAfter: number | undefined;
    const runner = crashAfterBatches(inner, 2, () => (crashedAfter = calls.length));

    expect(await runner.run(['ip', '-j', 'link', 'show'])).toBe('out');
    expect(await runner.run(batch, 'link del dev trve-x\n')).toBe('out');
    expect(crashedAfter).toBeUndefined();
    await expect(runner.run(['bridge', '-force', '-batch', '-'], 'fdb del ...\n')).rejects.toThrow(CommandFailed);
    expect(crashedAfter).toBe(3);
  });

  it('is off unless the environment sets it, and refuses a value that is not a count', () => {
    expect(kernelRunner({}, silent)).toBe(processRunner);
    expect(kernelRunner({ [CRASH_AFTER_BATCHES_ENV]: '' }, silent)).toBe(processRunner);
    expect(kernelRunner({ [CRASH_AFTER_BATCHES_ENV]: '3' }, silent)).not.toBe(processRunner);
    for (const bad of ['0', '-1', '2.5', 'x']) {
      expect(() => kernelRunner({ [CRASH_AFTER_BATCHES_ENV]: bad }, silent)).toThrow(CRASH_AFTER_BATCHES_ENV);
    }
  });
});
