import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { adminControl, joinedNodeCredentials } from '../../manager/cluster-clients';
import type { ControlClient } from '../../proto/gen/trellis/v1/control';
import { readTlsDir } from '../../proto/runtime/tls';
import { callUnary } from '../../proto/runtime/unary-call';
import { freePort, logTail, startProcess, stopProcess, waitFor, type Started } from '../raft/processes';
import { round } from '../stats';
import { FakeAgents, type FakeAgentOptions } from './fake-agents';
import { createObjects, endpointCount, registerNodes, type Layout } from './topology';

/** kB → MB of a /proc/PID/status field (VmRSS now, VmHWM the peak). */
export function memoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? round(Number(match[1]) / 1024) : NaN;
}

/** One manager (a child process, so its RSS and CPU are its own) holding the layout, and a fake agent per node on a real session. */
export interface FanoutCluster {
  manager: Started;
  admin: ControlClient;
  agents: FakeAgents;
  /** Node ids, index by index of the layout. */
  nodeIds: string[];
  metricsAddress: string;
  setupS: number;
  sessionsS: number;
  close(): Promise<void>;
}

/**
 * Starts a new one-manager cluster, registers the layout's nodes, creates its objects through
 * the Control API and opens every node's session; `close` stops it all and removes its files.
 */
export async function startFanoutCluster(repoRoot: string, layout: Layout, log: (line: string) => void, agentOptions?: FakeAgentOptions): Promise<FanoutCluster> {
  const nodes = layout.nodes;
  const dir = mkdtempSync(join(tmpdir(), 'trellis-fanout-'));
  const address = `127.0.0.1:${await freePort()}`;
  const main = join(repoRoot, 'dist', 'cli', 'main.js');
  // A new cluster: the manager writes the admin certificate here before it serves.
  const adminDir = join(dir, 'admin');
  const metricsAddress = `127.0.0.1:${await freePort()}`;
  const managerArgs = [main, 'manager', '--listen', address, '--data-dir', join(dir, 'data'), '--admin-dir', adminDir, '--metrics-listen', metricsAddress, '--gossip-dht-port', '0', '--log-level', 'warn'];
  const manager: Started = startProcess('manager', process.execPath, managerArgs, join(dir, 'manager.log'));
  let control: ControlClient | undefined;
  let agents: FakeAgents | undefined;
  const close = async (): Promise<void> => {
    agents?.close();
    control?.close();
    await stopProcess(manager);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const admin = await waitFor('the admin certificate', async () => {
      if (manager.child.exitCode !== null) throw new Error(`the manager exited with ${manager.child.exitCode}:\n${logTail(manager)}`);
      return readTlsDir(adminDir, 'admin') ? adminControl(address, adminDir) : undefined;
    });
    control = admin;
    await waitFor('the manager to lead', async () => ((await callUnary(admin, (c) => c.listManagers, {}, 2000)).managers.some((m) => m.leader) ? true : undefined));
    // One node certificate for every fake agent: node identity is not bound to the certificate (yet).
    const nodeCredentials = await joinedNodeCredentials(address, adminDir, 'manager');
    agents = new FakeAgents(address, nodeCredentials, agentOptions);
    const setupStart = performance.now();
    const nodeIds = await registerNodes(address, nodeCredentials, layout);
    await agents.registerGossipKeys(nodeIds);
    await createObjects(admin, layout);
    const setupS = round((performance.now() - setupStart) / 1000);
    log(`${nodes} agents: setup of ${endpointCount(layout)} sandboxes+endpoints took ${setupS} s; manager RSS ${memoryMb(manager.child.pid ?? 0, 'VmRSS')} MB`);
    const sessionsStart = performance.now();
    // A manager that dies while sessions open would leave them waiting for first views forever.
    const died = new Promise<never>((_, reject) => manager.child.once('exit', (code, signal) => reject(new Error(`the manager exited (${code ?? signal}) while sessions opened:\n${logTail(manager)}`))));
    died.catch(() => undefined);
    await Promise.race([agents.open(nodeIds), died]);
    const sessionsS = round((performance.now() - sessionsStart) / 1000);
    log(`${nodes} agents: sessions open with first views after ${sessionsS} s; manager RSS ${memoryMb(manager.child.pid ?? 0, 'VmRSS')} MB`);
    return { manager, admin, agents, nodeIds, metricsAddress, setupS, sessionsS, close };
  } catch (error) {
    await close();
    throw error;
  }
}
