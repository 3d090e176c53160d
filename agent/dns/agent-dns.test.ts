import pino from 'pino';
import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { sampleView } from '../reconcile/test-fixtures';
import { AgentDns } from './agent-dns';
import type { Resolver } from './model';
import { DnsServer } from './server';

describe('the agent’s DNS after each pass', () => {
  it('answers from each new view, from the last one with new readiness at once, and rebuilds nothing for a timer pass over the same view', () => {
    const updates: Array<[NodeView, string[]]> = [];
    const resolver: Resolver = { update: (view, ready) => updates.push([view, [...ready]]), respond: async () => undefined };
    const opened: string[] = [];
    const server = new DnsServer(pino({ level: 'silent' }), (path) => (opened.push(path), { close: () => undefined }), () => 'ns');
    const served: number[] = [];
    const dns = new AgentDns(resolver, server, { served: (namespaces) => served.push(namespaces.serving) });

    dns.readinessChanged(new Set(['e1']));
    expect(updates).toEqual([]);
    const first = sampleView();
    dns.passed(first, new Set());
    dns.passed(first, new Set());
    dns.readinessChanged(new Set(['e1aaaaaaaaaaaa']));
    const second = sampleView({ revision: 2 });
    dns.passed(second, new Set(['e1aaaaaaaaaaaa']));

    expect(updates).toEqual([[first, []], [first, ['e1aaaaaaaaaaaa']], [second, ['e1aaaaaaaaaaaa']]]);
    expect(opened).toEqual(['/run/netns/trsb-web']);
    expect(served).toEqual([1, 1, 1]);
  });
});
