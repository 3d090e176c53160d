import { join } from 'node:path';
import type { Command } from 'commander';
import { Reconciler } from '../../agent/reconcile';
import { SANDBOX_FILES_LEDGER, SandboxFileWriter } from '../../agent/sandbox-files';
import { print } from '../output';

/**
 * `trellis agent remove-all`: what `deploy/install.sh --uninstall` runs, so that removing Trellis
 * leaves no kernel object of it behind. The agent's objects are tagged with its advertise address
 * (sandbox namespaces, network namespace names), so only that agent's go: a lab or another agent
 * sharing the machine keeps its own.
 */
export function addAgentRemoveAll(agent: Command): void {
  agent
    .command('remove-all')
    .description(
      "delete every kernel object this node's agent made (its links, network and sandbox namespaces, the nftables table trellis) and its sandboxes' /etc/netns files; stop the agent first, or it programs them again",
    )
    .requiredOption('--advertise-addr <ip>', "the agent's --advertise-addr, which its objects are tagged with")
    .option('--state-dir <dir>', "the agent's --state-dir, which lists its /etc/netns files", '/var/lib/trellis/agent')
    .action(async (options: { advertiseAddr: string; stateDir: string }) => {
      const removed = await new Reconciler({ underlayDevice: '', localAddress: options.advertiseAddr }).removeAll();
      const files = new SandboxFileWriter(join(options.stateDir, SANDBOX_FILES_LEDGER)).sync([]);
      for (const line of [...removed.actions, ...files.map((path) => `rm -r ${path}`)]) print(line);
      print(`removed ${removed.writes} kernel objects and ${files.length} sandbox file paths`);
    });
}
