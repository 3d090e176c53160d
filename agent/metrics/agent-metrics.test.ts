import pino from 'pino';
import { serveMetrics, type MetricsServer } from '../../proto/runtime/metrics-http';
import { sampleValue } from '../../proto/runtime/prometheus-text';
import { HOST, bridgeAction, inNetns, ipAction } from '../kernel';
import { ACTION_KINDS } from '../reconcile/action-kind';
import type { DesiredMesh } from '../mesh/model';
import { AgentMetrics } from './agent-metrics';

/** The agent's registry behind the real metrics server on loopback, scraped over HTTP. */
describe('agent metrics', () => {
  let metrics: AgentMetrics;
  let server: MetricsServer;

  const scrape = async (): Promise<string> => {
    const response = await fetch(`http://${server.address}/metrics`);
    expect(response.status).toBe(200);
    return response.text();
  };

  beforeAll(async () => {
    metrics = new AgentMetrics();
    server = await serveMetrics('127.0.0.1:0', metrics.registry, pino({ level: 'silent' }));
  });
  afterAll(() => server.close());

  it('shows every series at 0 before the first pass', async () => {
    const text = await scrape();
    expect(sampleValue(text, 'trellis_reconcile_passes_total', 'result="ok"')).toBe(0);
    expect(sampleValue(text, 'trellis_reconcile_passes_total', 'result="failed"')).toBe(0);
    expect(sampleValue(text, 'trellis_kernel_writes_total')).toBe(0);
    expect(sampleValue(text, 'trellis_reconcile_change_wait_seconds_count')).toBe(0);
    for (const kind of ACTION_KINDS) expect(sampleValue(text, 'trellis_drift_repaired_total', `kind="${kind}"`)).toBe(0);
    expect(sampleValue(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('counts passes, their writes, durations and processes by kind of pass, changes\' waits, and drift repairs by kind', async () => {
    const staleFdb = bridgeAction(HOST, 'fdb', 'del', '02:00:5e:00:53:01', 'dev', 'trvx-100', 'dst', '198.18.0.99', 'self');
    const veth = ipAction(HOST, 'link', 'add', 'name', 'trve-e1aaaaaaaa', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'trsb-web');
    const address = ipAction(inNetns('trsb-web'), 'addr', 'add', '10.231.1.2/24', 'dev', 'eth0');
    const pass = { processes: 0, waitedSeconds: 0 };
    metrics.passFinished({ ...pass, ok: true, pass: 'scoped', seconds: 0.02, writes: [veth, address, staleFdb], drift: [], processes: 9, waitedSeconds: 0.002 });
    metrics.passFinished({ ...pass, ok: true, pass: 'scoped', seconds: 0.003, writes: [], drift: [] });
    metrics.passFinished({ ...pass, ok: true, pass: 'full', seconds: 0.04, writes: [staleFdb, veth, address], drift: [staleFdb, veth, address], processes: 1200 });
    metrics.passFinished({ ...pass, ok: false, pass: 'full', seconds: 0.7, writes: [], drift: [] });

    const text = await scrape();
    expect(sampleValue(text, 'trellis_reconcile_passes_total', 'result="ok"')).toBe(3);
    expect(sampleValue(text, 'trellis_reconcile_passes_total', 'result="failed"')).toBe(1);
    expect(sampleValue(text, 'trellis_kernel_writes_total')).toBe(6);
    expect(sampleValue(text, 'trellis_reconcile_pass_seconds_count', 'pass="scoped"')).toBe(2);
    expect(sampleValue(text, 'trellis_reconcile_pass_seconds_count', 'pass="full"')).toBe(2);
    expect(sampleValue(text, 'trellis_reconcile_pass_seconds_bucket', 'le="0.005",pass="scoped"')).toBe(1);
    expect(sampleValue(text, 'trellis_reconcile_pass_seconds_bucket', 'le="0.05",pass="full"')).toBe(1);
    expect(sampleValue(text, 'trellis_reconcile_pass_processes_bucket', 'le="10",pass="scoped"')).toBe(2);
    expect(sampleValue(text, 'trellis_reconcile_pass_processes_bucket', 'le="1000",pass="full"')).toBe(1);
    expect(sampleValue(text, 'trellis_reconcile_pass_processes_sum', 'pass="full"')).toBe(1200);
    expect(sampleValue(text, 'trellis_reconcile_change_wait_seconds_count')).toBe(1);
    const drift = Object.fromEntries(ACTION_KINDS.map((kind) => [kind, sampleValue(text, 'trellis_drift_repaired_total', `kind="${kind}"`)]));
    expect(drift).toEqual({ fdb: 1, neighbour: 0, veth: 1, vxlan: 0, bridge: 0, address: 1, route: 0, netns: 0, sysctl: 0, firewall: 0, other: 0 });
  });
  it('shows the published ports the routing mesh answers by mode, and counts its changes and drift repairs', async () => {
    const dnat = (port: number): DesiredMesh['hostDnat'][number] => ({ protocol: 'tcp', port, targetPort: 80, backends: ['172.29.0.2'] });
    // 8080 ingress with a local backend, 8081 host mode, 9090 ingress forwarded to another node.
    const mesh: DesiredMesh = {
      underlayDevice: 'eth0',
      localAddress: '198.18.0.1',
      hostDnat: [dnat(8080), dnat(8081)],
      tunnelDnat: [dnat(8080)],
      forwarded: [{ protocol: 'tcp', port: 9090, slots: ['198.18.0.2'] }],
      tunnel: { peers: [] },
    };
    const before = await scrape();
    expect(sampleValue(before, 'trellis_mesh_ports', 'mode="ingress"')).toBe(0);
    expect(sampleValue(before, 'trellis_mesh_drift_repaired_total')).toBe(0);
    metrics.meshSynced({ writes: 3, drift: 0, read: true, skipped: [] }, mesh);
    metrics.meshSynced({ writes: 1, drift: 1, read: true, skipped: [] }, mesh);
    // A failed sync counts what it ran, and leaves the ports as the last good one left them.
    metrics.meshSynced({ writes: 1, drift: 0, read: true, skipped: [], failure: 'nft: busy' }, { ...mesh, forwarded: [] });
    const text = await scrape();
    expect(sampleValue(text, 'trellis_mesh_ports', 'mode="ingress"')).toBe(2);
    expect(sampleValue(text, 'trellis_mesh_ports', 'mode="host"')).toBe(1);
    expect(sampleValue(text, 'trellis_mesh_changes_total')).toBe(5);
    expect(sampleValue(text, 'trellis_mesh_drift_repaired_total')).toBe(1);
  });
  it('shows the ports the loopback proxy listens on and those it cannot, and counts what it relayed by protocol', async () => {
    expect(sampleValue(await scrape(), 'trellis_loopback_proxy_ports', 'state="failing"')).toBe(0);
    metrics.proxied({ listening: 3, failing: 1 });
    metrics.relayed('tcp');
    metrics.relayed('tcp');
    metrics.relayed('udp');
    const text = await scrape();
    expect(sampleValue(text, 'trellis_loopback_proxy_ports', 'state="listening"')).toBe(3);
    expect(sampleValue(text, 'trellis_loopback_proxy_ports', 'state="failing"')).toBe(1);
    expect(sampleValue(text, 'trellis_loopback_proxy_relayed_total', 'protocol="tcp"')).toBe(2);
    expect(sampleValue(text, 'trellis_loopback_proxy_relayed_total', 'protocol="udp"')).toBe(1);
  });
});
