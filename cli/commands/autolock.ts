import type { ServiceError } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { CommandError, formatOption, withControl, type OutputFormat } from '../context';
import { json, print } from '../output';
import { readSecret } from '../secret-input';

function parseBoolean(flag: string, text: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new CommandError(`${flag}: "${text}" is not true or false`);
}

const KEEP_IT =
  'Keep it safe: a manager restarted while autolock is on serves nothing until `trellis cluster unlock` gives it this key.';

/** What one manager answered to the unlock: a line for the user, and whether it refused the key. */
async function unlockOne(address: string, unlock: () => Promise<{ wasLocked: boolean }>): Promise<{ line: string; refused: boolean; reached: boolean }> {
  try {
    const { wasLocked } = await unlock();
    return { line: `${address}: ${wasLocked ? 'unlocked' : 'not locked'}`, refused: false, reached: true };
  } catch (error) {
    const { status } = require('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
    const failure = error as ServiceError;
    if (failure.code === status.UNAVAILABLE || failure.code === status.DEADLINE_EXCEEDED) {
      return { line: `${address}: not reachable (${failure.details})`, refused: false, reached: false };
    }
    return { line: `${address}: ${failure.details} (${status[failure.code]})`, refused: true, reached: true };
  }
}

/** `trellis cluster update --autolock`, `trellis cluster unlock`, `trellis cluster unlock-key`, after their `docker swarm` namesakes. */
export function addAutolockCommands(cluster: Command): void {
  cluster
    .command('update')
    .description('change cluster-wide settings')
    .option('--autolock <true|false>', "require the unlock key to restart a manager (its data key file is wrapped under it)")
    .addOption(formatOption())
    .action((options: { autolock?: string; format: OutputFormat }, command: Command) =>
      withControl(command, async (control) => {
        const autolock = options.autolock === undefined ? undefined : parseBoolean('--autolock', options.autolock);
        if (autolock === undefined) throw new CommandError('update: give a setting to change, e.g. --autolock true');
        const answer = await control.call((c) => c.updateCluster, { autolock });
        if (options.format === 'json') return print(json(answer));
        if (!answer.autolock) return print('Autolock is off: managers restart without an unlock key.');
        if (!answer.unlockKey) return print('Autolock was already on; `trellis cluster unlock-key` prints the key.');
        print(`Autolock is on. The unlock key:\n\n    ${answer.unlockKey}\n\n${KEEP_IT}`);
      }),
    );

  cluster
    .command('unlock')
    .description('give locked managers (autolock, restarted) the unlock key: each --manager that is locked opens its data key and rejoins')
    .option('--key-file <path>', 'read the key from this file (default: prompt on a terminal, else read stdin)')
    .action((options: { keyFile?: string }, command: Command) =>
      withControl(command, async (control) => {
        const unlockKey = await readSecret('Unlock key', options.keyFile);
        const results = [];
        for (const address of control.managers()) results.push(await unlockOne(address, () => control.callAt(address, (c) => c.unlockManager, { unlockKey })));
        const lines = results.map((result) => result.line).join('\n');
        if (results.some((result) => result.refused) || !results.some((result) => result.reached)) throw new CommandError(`unlock failed:\n${lines}`);
        print(lines);
      }),
    );

  cluster
    .command('unlock-key')
    .description('print the key that unlocks managers while autolock is on')
    .option('--rotate', 'make a new key first; every manager rewraps its data key under it and the old one stops working')
    .option('-q, --quiet', 'print the key only')
    .action((options: { rotate?: boolean; quiet?: boolean }, command: Command) =>
      withControl(command, async (control) => {
        const { unlockKey } = options.rotate
          ? await control.call((c) => c.rotateUnlockKey, {})
          : await control.call((c) => c.getUnlockKey, {});
        if (options.quiet) return print(unlockKey);
        print(`${options.rotate ? 'The new unlock key' : 'The unlock key'}:\n\n    ${unlockKey}\n\n${KEEP_IT}`);
      }),
    );
}
