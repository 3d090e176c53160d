import { Registry } from 'prom-client';
import { sampleValue } from '../../proto/runtime/prometheus-text';
import { DnsPromMetrics } from './dns-metrics';

describe('DNS metrics', () => {
  it('counts queries by type and result, upstream failures by server, answer times by result, and the namespaces served', async () => {
    const registry = new Registry();
    const metrics = new DnsPromMetrics(registry);
    expect(sampleValue(await registry.metrics(), 'trellis_dns_queries_total', 'type="A",result="nxdomain"')).toBe(0);

    metrics.query('A', 'answer', 0.0002);
    metrics.query('A', 'answer', 0.0004);
    metrics.query('AAAA', 'nodata', 0.0001);
    metrics.query('other', 'forwarded', 0.3);
    metrics.query('MX', 'servfail', 2.1);
    metrics.upstreamFailure('198.18.0.53');
    metrics.upstreamFailure('198.18.0.53');
    metrics.served({ serving: 999, failing: 1 });

    const text = await registry.metrics();
    expect(sampleValue(text, 'trellis_dns_queries_total', 'type="A",result="answer"')).toBe(2);
    expect(sampleValue(text, 'trellis_dns_queries_total', 'type="AAAA",result="nodata"')).toBe(1);
    expect(sampleValue(text, 'trellis_dns_queries_total', 'type="other",result="forwarded"')).toBe(1);
    expect(sampleValue(text, 'trellis_dns_upstream_failures_total', 'upstream="198.18.0.53"')).toBe(2);
    expect(sampleValue(text, 'trellis_dns_answer_seconds_bucket', 'le="0.0005",result="answer"')).toBe(2);
    expect(sampleValue(text, 'trellis_dns_answer_seconds_count', 'result="servfail"')).toBe(1);
    expect(sampleValue(text, 'trellis_dns_answer_seconds_bucket', 'le="2.5",result="servfail"')).toBe(1);
    expect(sampleValue(text, 'trellis_dns_namespaces', 'state="serving"')).toBe(999);
    expect(sampleValue(text, 'trellis_dns_namespaces', 'state="failing"')).toBe(1);
  });
});
