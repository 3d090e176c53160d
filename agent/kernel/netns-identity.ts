import { CommandFailed, CommandRunner } from './command-runner';

/**
 * A namespace is known by the nsfs inode behind any path to it (/run/netns/NAME, /proc/PID/ns/net),
 * which is how two paths are told to be one namespace or two. Read with `stat`, through the runner
 * like every other kernel read, so a test can fake it.
 */
export async function readNetnsIds(runner: CommandRunner, paths: readonly string[]): Promise<Record<string, string>> {
  const ids = await Promise.all(paths.map((path) => readNetnsId(runner, path)));
  const byPath: Record<string, string> = {};
  paths.forEach((path, index) => {
    const id = ids[index];
    if (id !== undefined) byPath[path] = id;
  });
  return byPath;
}

/** undefined when the path does not exist (a process that is gone, a name nobody made). */
async function readNetnsId(runner: CommandRunner, path: string): Promise<string | undefined> {
  try {
    // -L: /proc/PID/ns/net is a magic link; the identity is that of what it points at.
    return (await runner.run(['stat', '-L', '-c', '%d:%i', path])).trim();
  } catch (error) {
    if (error instanceof CommandFailed) return undefined;
    throw error;
  }
}
