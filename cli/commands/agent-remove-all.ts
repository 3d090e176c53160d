import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { print } from '../output';

/** `trellis agent --remove-all`: what it does instead of running the agent. */
export const REMOVE_ALL_HELP =
  "instead of running: delete every kernel object the agent of --advertise-addr made (its links, network and sandbox namespaces, the nftables tables trellis and trellis_mesh, the mesh tunnel trellis_in, service balancing in the namespaces --state-dir lists) and the /etc/netns files --state-dir lists, and the view a gossiping agent saved there, then exit; stop the agent first, or it programs them again";

/**
 * What `deploy/install.sh --uninstall` runs, so that removing Trellis leaves no kernel object of
 * it behind. The agent's objects are tagged with its advertise address (sandbox namespaces,
 * network namespace names), so only that agent's go: a lab or another agent sharing the machine
 * keeps its own.
 */
export async function removeAgentObjects(options: { advertiseAddr: string; stateDir: string }): Promise<void> {
  // Loaded here, not with the CLI: every other command starts without the agent's code.
  const { Reconciler } = require('../../agent/reconcile') as typeof import('../../agent/reconcile');
  const { SANDBOX_FILES_LEDGER, SandboxFileWriter } = require('../../agent/sandbox-files') as typeof import('../../agent/sandbox-files');
  const { processRunner } = require('../../agent/kernel') as typeof import('../../agent/kernel');
  const { chooseBalancer } = require('../../agent/lb/engine-choice') as typeof import('../../agent/lb/engine-choice');
  const { BALANCING_LEDGER, ServiceBalancing } = require('../../agent/lb/service-balancing') as typeof import('../../agent/lb/service-balancing');
  // First, while the namespaces still exist: adopted ones outlive the agent, and so would their rules.
  const engine = await chooseBalancer('auto', processRunner);
  const balancing = await new ServiceBalancing(engine, join(options.stateDir, BALANCING_LEDGER)).sync([], 'full');
  if (balancing.failures.length > 0) print(`service balancing not removed everywhere: ${balancing.failures.join('; ')}`);
  const { MeshStep } = require('../../agent/mesh/mesh-step') as typeof import('../../agent/mesh/mesh-step');
  const mesh = await new MeshStep(processRunner, { underlayDevice: '', localAddress: options.advertiseAddr }, () => new Set()).removeAll();
  if (mesh.failure !== undefined) print(`routing mesh not removed: ${mesh.failure}`);
  const removed = await new Reconciler({ underlayDevice: '', localAddress: options.advertiseAddr }).removeAll();
  const files = new SandboxFileWriter(join(options.stateDir, SANDBOX_FILES_LEDGER)).sync([]);
  // A gossiping agent's saved view would program them all again at its next start, were every manager down.
  const { VIEW_FILE } = require('../../agent/session/view-file') as typeof import('../../agent/session/view-file');
  const savedView = join(options.stateDir, VIEW_FILE);
  if (existsSync(savedView)) {
    rmSync(savedView);
    files.push(savedView);
  }
  for (const line of [...removed.actions, ...files.map((path) => `rm -r ${path}`)]) print(line);
  print(`removed ${removed.writes + mesh.writes} kernel objects, the balancing of ${balancing.read} namespaces and ${files.length} sandbox file paths`);
}
