import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { BalancingStep } from './balancing-step';
import type { LoadBalancer } from './model';
import { ServiceBalancing } from './service-balancing';

/** An engine that holds nothing: only what it says about its VIPs' ports matters here. */
const engine = (name: 'nftables' | 'ipvs', vipPorts: 'every' | 'declared'): LoadBalancer<never, never> => ({
  engine: name,
  vipPorts,
  observe: () => Promise.resolve(new Map<string, never>()),
  plan: () => [],
  apply: () => Promise.resolve(),
});

describe('balancing step at agent start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-step-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function logsAtStart(balancer: LoadBalancer<never, never>): string[] {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    new BalancingStep(new ServiceBalancing(balancer, join(dir, balancer.engine)), () => new Set(), logger);
    return lines.map((line) => String((JSON.parse(line) as { msg: unknown }).msg));
  }

  test('with an engine whose VIPs answer only declared ports (IPVS), the operator is told once, and how to get every port', () => {
    const said = logsAtStart(engine('ipvs', 'declared'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/only the ports their service declares.*--lb nftables/);
  });

  test('with an engine whose VIPs answer every port (nftables), nothing is said', () => {
    expect(logsAtStart(engine('nftables', 'every'))).toEqual([]);
  });
});
