import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { NameLedger, replaceFile } from '../name-ledger';
import type { SandboxFiles } from './render';

/** Where `ip netns exec NAME` finds the files it mounts over /etc. */
export const ETC_NETNS_DIR = '/etc/netns';
/** The ledger's file name in the agent's state directory. */
export const SANDBOX_FILES_LEDGER = 'sandbox-files';

/**
 * Keeps /etc/netns/<sandbox>/{hosts,resolv.conf} equal to what the view asks, level-triggered
 * like the kernel: a file is written only when its content differs, and directories of this
 * agent's sandboxes that left the view are removed.
 *
 * Which directories are this agent's is kept in a ledger in its state directory, not in a marker
 * inside them: `ip netns exec` bind-mounts every file of /etc/netns/NAME over /etc and complains
 * about any that /etc lacks. A name enters the ledger before its directory is made, so a crash
 * never leaves a directory no agent would remove.
 *
 * Like the kernel's passes, a scoped sync touches only sandboxes whose files changed since this
 * writer last made them match; a full sync reads every file back, to repair what was edited by hand.
 */
export class SandboxFileWriter {
  /** By namespace: the files this writer last made (or found) match on disk. */
  private readonly known = new Map<string, SandboxFiles>();
  private readonly ledger: NameLedger;

  constructor(
    ledgerPath: string,
    private readonly dir: string = ETC_NETNS_DIR,
  ) {
    this.ledger = new NameLedger(ledgerPath);
  }

  /** Returns the paths written or removed; none when everything already matched. */
  sync(wanted: readonly SandboxFiles[], scope: 'full' | 'scoped' = 'full'): string[] {
    const changed: string[] = [];
    const recorded = this.ledger.names();
    const kept = new Set(wanted.map((files) => files.netns));
    this.ledger.record([...recorded, ...kept]);
    for (const files of wanted) {
      const known = this.known.get(files.netns);
      if (scope === 'scoped' && known?.hosts === files.hosts && known.resolvConf === files.resolvConf) continue;
      const dir = join(this.dir, files.netns);
      mkdirSync(dir, { recursive: true });
      put(join(dir, 'hosts'), files.hosts, changed);
      put(join(dir, 'resolv.conf'), files.resolvConf, changed);
      this.known.set(files.netns, files);
    }
    for (const name of recorded.filter((name) => !kept.has(name))) {
      this.known.delete(name);
      const dir = join(this.dir, name);
      if (!existsSync(dir)) continue;
      rmSync(dir, { recursive: true, force: true });
      changed.push(dir);
    }
    this.ledger.record(kept);
    return changed;
  }
}

function put(path: string, content: string, changed: string[]): void {
  if (replaceFile(path, content)) changed.push(path);
}
