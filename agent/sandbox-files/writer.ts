import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SANDBOX_NETNS_PREFIX } from '../kernel';
import type { SandboxFiles } from './render';

/** Where `ip netns exec NAME` finds the files it mounts over /etc. */
export const ETC_NETNS_DIR = '/etc/netns';
/** Says which agent wrote a directory: agents sharing a machine (the lab) remove only their own. */
const OWNER_FILE = '.trellis-owner';

/**
 * Keeps /etc/netns/<sandbox>/{hosts,resolv.conf} equal to what the view asks, level-triggered
 * like the kernel: a file is written only when its content differs, and directories of this
 * agent's sandboxes that left the view are removed.
 */
export class SandboxFileWriter {
  constructor(
    private readonly ownerTag: string,
    private readonly dir: string = ETC_NETNS_DIR,
  ) {}

  /** Returns the paths written or removed; none when everything already matched. */
  sync(wanted: readonly SandboxFiles[]): string[] {
    const changed: string[] = [];
    for (const files of wanted) {
      const dir = join(this.dir, files.netns);
      mkdirSync(dir, { recursive: true });
      this.put(join(dir, OWNER_FILE), `${this.ownerTag}\n`, changed);
      this.put(join(dir, 'hosts'), files.hosts, changed);
      const resolv = join(dir, 'resolv.conf');
      if (files.resolvConf !== undefined) this.put(resolv, files.resolvConf, changed);
      else if (existsSync(resolv)) {
        rmSync(resolv);
        changed.push(resolv);
      }
    }
    const kept = new Set(wanted.map((files) => files.netns));
    for (const name of this.ownDirectories()) {
      if (kept.has(name)) continue;
      rmSync(join(this.dir, name), { recursive: true, force: true });
      changed.push(join(this.dir, name));
    }
    return changed;
  }

  private ownDirectories(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir).filter((name) => name.startsWith(SANDBOX_NETNS_PREFIX) && this.ownerOf(name) === this.ownerTag);
  }

  private ownerOf(name: string): string | undefined {
    try {
      return readFileSync(join(this.dir, name, OWNER_FILE), 'utf8').trim();
    } catch {
      return undefined;
    }
  }

  /** Replaces the file in one rename, so the sandbox never reads half of it. */
  private put(path: string, content: string, changed: string[]): void {
    if (existsSync(path) && readFileSync(path, 'utf8') === content) return;
    writeFileSync(`${path}.tmp`, content);
    renameSync(`${path}.tmp`, path);
    changed.push(path);
  }
}
