import { Registry } from 'prom-client';
import { sampleValue } from '../../proto/runtime/prometheus-text';
import { GossipPromMetrics } from './gossip-metrics';

describe('gossip metrics', () => {
  it('counts links, members, entries, bytes by direction and kind, mismatches, fallbacks, refusals by reason and propagation, with no label per peer', async () => {
    const registry = new Registry();
    const metrics = new GossipPromMetrics(registry);
    expect(sampleValue(await registry.metrics(), 'trellis_gossip_rejected_total', 'reason="unknown-key"')).toBe(0);
    expect(sampleValue(await registry.metrics(), 'trellis_gossip_sync_bytes_total', 'direction="received",kind="changes"')).toBe(0);

    metrics.linkChanged('node-a', true);
    metrics.linkChanged('node-b', true);
    metrics.linkChanged('node-a', true);
    metrics.linkChanged('node-b', false);
    metrics.members(4);
    metrics.entries(120);
    metrics.syncBytes('sent', 'digest', 40);
    metrics.syncBytes('sent', 'digest', 2);
    metrics.syncBytes('received', 'snapshot', 900);
    metrics.digestMismatch();
    metrics.fallback();
    metrics.rejected('not-owner');
    metrics.peerRefused();
    metrics.frameRefused();
    metrics.propagated([0.03, 0.2]);

    const text = await registry.metrics();
    expect(sampleValue(text, 'trellis_gossip_peers')).toBe(1);
    expect(sampleValue(text, 'trellis_gossip_members')).toBe(4);
    expect(sampleValue(text, 'trellis_gossip_entries')).toBe(120);
    expect(sampleValue(text, 'trellis_gossip_sync_bytes_total', 'direction="sent",kind="digest"')).toBe(42);
    expect(sampleValue(text, 'trellis_gossip_sync_bytes_total', 'direction="received",kind="snapshot"')).toBe(900);
    expect(sampleValue(text, 'trellis_gossip_digest_mismatches_total')).toBe(1);
    expect(sampleValue(text, 'trellis_gossip_fallbacks_total')).toBe(1);
    expect(sampleValue(text, 'trellis_gossip_rejected_total', 'reason="not-owner"')).toBe(1);
    expect(sampleValue(text, 'trellis_gossip_rejected_total', 'reason="unknown-key"')).toBe(1);
    expect(sampleValue(text, 'trellis_gossip_rejected_total', 'reason="oversized"')).toBe(1);
    expect(sampleValue(text, 'trellis_gossip_propagation_seconds_bucket', 'le="0.05"')).toBe(1);
    expect(sampleValue(text, 'trellis_gossip_propagation_seconds_count')).toBe(2);
    expect(text).not.toContain('node-a');
  });
});
