import pino from 'pino';
import { ConvergeLoop, type PassReport } from '../../agent/converge-loop';
import { reconcilerTarget } from '../../agent/converge-target';
import type { Reconciler } from '../../agent/reconcile';
import type { EndpointView, NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { SANDBOX_INTERFACE, macOf } from '../netns/views';

/** How the attaches went: each one's wait for the write lock, its pass, and the full passes around them. */
export interface AttachFigures {
  attaches: number;
  /** Per attach: how long its view waited for a pass to start writing it. */
  waitedMs: number[];
  /** Per attach: its pass, from its start to the kernel written. */
  passMs: number[];
  /** Per attach: the processes its pass spawned. */
  processes: number[];
  /** Full passes that finished while the attaches ran, and the processes of each. */
  fullPasses: number;
  fullPassProcesses: number[];
  /** Attaches whose pass was scoped (the rest fell back to full passes). */
  scoped: number;
}

/** Timer passes one after another, as fast as they run: every attach lands in or next to one. */
const RESYNC_MS = 20;

/**
 * The agent's converge loop over `reconciler` (already converged on `view`) with its timer
 * running back to back, and `attaches` new sandboxes, each with one endpoint on the view's first
 * network, offered one at a time at moments spread over a full pass.
 */
export async function attachDuringTimerPasses(reconciler: Reconciler, view: NodeView, sandboxPrefix: string, attaches: number): Promise<AttachFigures> {
  const reports: PassReport[] = [];
  const converged = new Map<number, () => void>();
  const loop = new ConvergeLoop(
    reconcilerTarget(reconciler),
    pino({ level: 'silent' }),
    (done) => converged.get(done.revision)?.(),
    RESYNC_MS,
    { passFinished: (report) => reports.push(report) },
  );
  const figures: AttachFigures = { attaches, waitedMs: [], passMs: [], processes: [], fullPasses: 0, fullPassProcesses: [], scoped: 0 };
  loop.offer(view);
  loop.start();
  try {
    let current = view;
    const fullPassMs = await timeOneFullPass(reports);
    for (let index = 0; index < attaches; index++) {
      // Spread over a full pass: reading, then writing, then between passes.
      await sleep(((index + 0.5) / attaches) * fullPassMs);
      current = withAttachedSandbox(current, sandboxPrefix, index);
      const done = new Promise<void>((resolve) => converged.set(current.revision, resolve));
      const before = reports.length;
      loop.offer(current);
      await done;
      const pass = reports.slice(before).find((report) => report.waitedSeconds > 0) ?? reports[before];
      if (pass === undefined) throw new Error(`attach ${index}: no pass reported`);
      figures.waitedMs.push(pass.waitedSeconds * 1000);
      figures.passMs.push(pass.seconds * 1000);
      figures.processes.push(pass.processes);
      if (pass.pass === 'scoped') figures.scoped++;
    }
  } finally {
    await loop.stop();
  }
  const full = reports.filter((report) => report.pass === 'full' && report.ok);
  figures.fullPasses = full.length;
  figures.fullPassProcesses = full.map((report) => report.processes);
  return figures;
}

/** Waits for the next full pass to finish, and returns how long one took. */
async function timeOneFullPass(reports: PassReport[]): Promise<number> {
  for (;;) {
    const full = reports.filter((report) => report.pass === 'full' && report.ok);
    if (full.length >= 2) return (full[full.length - 1] as PassReport).seconds * 1000;
    await sleep(50);
  }
}

/** The view with one more local sandbox, on the first network, at an address the bench's layout leaves free. */
function withAttachedSandbox(view: NodeView, sandboxPrefix: string, index: number): NodeView {
  const network = view.networks[0];
  if (network === undefined) throw new Error('the view has no network');
  const ip = network.subnet.replace(/\.0\/24$/, `.${200 + index}`);
  const sandboxId = `sb-attach-${index}`;
  const endpoint: EndpointView = {
    id: `epattach${String(index).padStart(4, '0')}`, networkId: network.id, sandboxId, nodeId: view.nodeId, vtep: view.advertiseAddr,
    ip, prefixLength: 24, mac: macOf(ip),
    interfaceName: SANDBOX_INTERFACE, hostname: '', extraHosts: [], dns: [], publishedPorts: [], serviceId: '', draining: false, aliases: [], sandboxName: '',
  };
  return {
    ...view,
    revision: view.revision + 1,
    sandboxes: [...view.sandboxes, { networkMode: '', sharesNetns: false, id: sandboxId, name: sandboxId, netnsName: `${sandboxPrefix}-attach-${index}`, netnsPath: '' }],
    endpoints: [...view.endpoints, endpoint],
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
