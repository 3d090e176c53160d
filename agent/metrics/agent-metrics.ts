import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ConvergeObserver, PassReport } from '../converge-loop';
import type { BalancingObserver } from '../lb/balancing-step';
import type { NamespaceBalancing } from '../lb/model';
import type { BalancingOutcome } from '../lb/service-balancing';
import type { ProxyObserver, ProxyStatus } from '../loopback-proxy';
import type { MeshObserver, MeshOutcome } from '../mesh/mesh-step';
import type { DesiredMesh } from '../mesh/model';
import { ACTION_KINDS, actionKind } from '../reconcile/action-kind';

/**
 * One agent's Prometheus metrics, in a registry of its own (several agents share a process in
 * tests). Fed by the converge loop after every reconcile pass.
 */
export class AgentMetrics implements ConvergeObserver, BalancingObserver, MeshObserver, ProxyObserver {
  readonly registry = new Registry();
  private readonly passes: Counter<'result'>;
  private readonly passSeconds: Histogram<'pass'>;
  private readonly passProcesses: Histogram<'pass'>;
  private readonly changeWait: Histogram;
  private readonly kernelWrites: Counter;
  private readonly driftRepaired: Counter<'kind'>;
  private readonly lbServices: Gauge<'engine'>;
  private readonly lbBackends: Gauge<'engine'>;
  private readonly lbChanges: Counter<'engine'>;
  private readonly lbDrift: Counter<'engine'>;
  private readonly lbReadyToRules: Histogram;
  private readonly meshPorts: Gauge<'mode'>;
  private readonly meshChanges: Counter;
  private readonly meshDrift: Counter;
  private readonly proxyPorts: Gauge<'state'>;
  private readonly proxyRelayed: Counter<'protocol'>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.passes = new Counter({
      name: 'trellis_reconcile_passes_total',
      help: 'Reconcile passes, by whether the kernel matched the desired view at the end (ok) or a pass failed (failed; the next one retries).',
      labelNames: ['result'],
      registers,
    });
    this.passSeconds = new Histogram({
      name: 'trellis_reconcile_pass_seconds',
      help: 'Duration of a reconcile pass: read the kernel, plan, apply; scoped passes read only what a change touched, full ones everything.',
      labelNames: ['pass'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.passProcesses = new Histogram({
      name: 'trellis_reconcile_pass_processes',
      help: 'Processes the agent spawned for a reconcile pass to read and write the kernel (a shell loop that reads many namespaces counts once).',
      labelNames: ['pass'],
      buckets: [0, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
      registers,
    });
    this.changeWait = new Histogram({
      name: 'trellis_reconcile_change_wait_seconds',
      help: 'How long a new view waited for a pass to start writing it (behind another pass\'s writes).',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.kernelWrites = new Counter({
      name: 'trellis_kernel_writes_total',
      help: 'Kernel writes made by successful reconcile passes (0 per pass when nothing changed).',
      registers,
    });
    this.driftRepaired = new Counter({
      name: 'trellis_drift_repaired_total',
      help: 'Kernel writes that repaired drift: made by a pass whose desired view had not changed since the last successful pass, by what they wrote.',
      labelNames: ['kind'],
      registers,
    });
    this.lbServices = new Gauge({
      name: 'trellis_lb_services',
      help: "Service VIPs (one per service and network) that every sandbox here that should balance them holds in its rules.",
      labelNames: ['engine'],
      registers,
    });
    this.lbBackends = new Gauge({
      name: 'trellis_lb_backends',
      help: 'Backends of those VIPs (accepting and draining), each counted once per VIP.',
      labelNames: ['engine'],
      registers,
    });
    this.lbChanges = new Counter({
      name: 'trellis_lb_changes_total',
      help: "Changes the load-balancing engine applied (a VIP's backends, a service added or removed, in one namespace each).",
      labelNames: ['engine'],
      registers,
    });
    this.lbDrift = new Counter({
      name: 'trellis_lb_drift_repaired_total',
      help: 'Of those, changes that repaired balancing rules altered behind the agent\'s back.',
      labelNames: ['engine'],
      registers,
    });
    this.lbReadyToRules = new Histogram({
      name: 'trellis_lb_backend_ready_to_rules_seconds',
      help: 'From the news that a backend is ready reaching this agent to the backend being in the rules of every sandbox here that calls its service.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.meshPorts = new Gauge({
      name: 'trellis_mesh_ports',
      help: 'Published ports this node answers, as its last successful sync left them: ingress (the routing mesh: served by a local backend or forwarded to a backend\'s node) and host mode.',
      labelNames: ['mode'],
      registers,
    });
    this.meshChanges = new Counter({
      name: 'trellis_mesh_changes_total',
      help: 'Commands the routing mesh ran to bring its tables and tunnel device in line (0 per pass when nothing changed).',
      registers,
    });
    this.meshDrift = new Counter({
      name: 'trellis_mesh_drift_repaired_total',
      help: 'Of those, commands that repaired mesh tables or tunnel entries altered behind the agent\'s back.',
      registers,
    });
    this.proxyPorts = new Gauge({
      name: 'trellis_loopback_proxy_ports',
      help: "Published ports the agent relays from the host's 127.0.0.1 (listening), and those whose listener could not be made at the last pass (failing: something else holds 127.0.0.1:PORT; the agent's log says what).",
      labelNames: ['state'],
      registers,
    });
    this.proxyRelayed = new Counter({
      name: 'trellis_loopback_proxy_relayed_total',
      help: 'Connections (tcp) and client flows (udp) the loopback proxy relayed to a published port\'s target.',
      labelNames: ['protocol'],
      registers,
    });
    // Every series exists from the start, so a scrape shows 0 rather than nothing.
    this.proxied({ listening: 0, failing: 0 });
    for (const protocol of ['tcp', 'udp']) this.proxyRelayed.inc({ protocol }, 0);
    for (const mode of ['ingress', 'host']) this.meshPorts.set({ mode }, 0);
    for (const result of ['ok', 'failed']) this.passes.inc({ result }, 0);
    for (const kind of ACTION_KINDS) this.driftRepaired.inc({ kind }, 0);
  }

  passFinished(report: PassReport): void {
    this.passes.inc({ result: report.ok ? 'ok' : 'failed' });
    this.passSeconds.observe({ pass: report.pass }, report.seconds);
    this.passProcesses.observe({ pass: report.pass }, report.processes);
    if (report.waitedSeconds > 0) this.changeWait.observe(report.waitedSeconds);
    this.kernelWrites.inc(report.writes.length);
    for (const action of report.drift) this.driftRepaired.inc({ kind: actionKind(action) });
  }

  balanced(engine: string, outcome: BalancingOutcome, wanted: readonly NamespaceBalancing[], readySeconds: readonly number[]): void {
    const backends = new Map<string, number>();
    for (const balancing of wanted) {
      for (const service of balancing.services) if (outcome.programmed.has(service.key)) backends.set(service.key, service.backends.length);
    }
    this.lbServices.set({ engine }, backends.size);
    this.lbBackends.set({ engine }, [...backends.values()].reduce((sum, count) => sum + count, 0));
    this.lbChanges.inc({ engine }, outcome.changes);
    this.lbDrift.inc({ engine }, outcome.drift);
    for (const seconds of readySeconds) this.lbReadyToRules.observe(seconds);
  }

  meshSynced(outcome: MeshOutcome, mesh: DesiredMesh): void {
    this.meshChanges.inc(outcome.writes);
    this.meshDrift.inc(outcome.drift);
    if (outcome.failure !== undefined) return;
    // An ingress port with a local backend is served here (and for the tunnel); without one, forwarded.
    const ingress = mesh.tunnelDnat.length + mesh.forwarded.length;
    this.meshPorts.set({ mode: 'ingress' }, ingress);
    this.meshPorts.set({ mode: 'host' }, mesh.hostDnat.length - mesh.tunnelDnat.length);
  }

  proxied(status: ProxyStatus): void {
    this.proxyPorts.set({ state: 'listening' }, status.listening);
    this.proxyPorts.set({ state: 'failing' }, status.failing);
  }

  relayed(protocol: 'tcp' | 'udp'): void {
    this.proxyRelayed.inc({ protocol });
  }
}
