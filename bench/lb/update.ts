import { countingProcesses, NETNS_RUN_DIR, processRunner } from '../../agent/kernel';
import type { LbService, NamespaceBalancing } from '../../agent/lb/model';
import { NftablesBalancer, rebuildTransaction, type NftLbChange } from '../../agent/lb/nftables';
import { nativeNftLbKernel } from '../../agent/lb/nftables/kernel-io';
import { BENCH_PREFIX, createNetns } from '../netns/hosts';
import type { Teardown } from '../netns/teardown';
import { percentile } from '../stats';

export interface UpdateFigures {
  sandboxes: number;
  backends: number;
  programMs: number;
  /** Medians over the rounds, each a backend leaving or coming back. */
  observeMs: number;
  planMs: number;
  updateMs: number;
  updateProcesses: number;
  rebuildMs: number;
  rebuildProcesses: number;
  /** An empty nft script in every namespace, in-process as the balancer runs them: entering the namespaces and libnftables' own cost. */
  floorMs: number;
  /** An nsenter+nft process per namespace with an empty transaction (as the balancer did before): what spawning alone costs. */
  spawnFloorMs: number;
  updateBytes: number;
  rebuildBytes: number;
}

const backendIp = (index: number): string => `10.${200 + Math.floor(index / 65_536)}.${Math.floor(index / 256) % 256}.${index % 256}`;

function service(backends: number, without: number | undefined): LbService {
  return {
    key: 'bench/net',
    vip: '10.199.0.1',
    ports: [{ protocol: 'tcp', port: 80, targetPort: 8080 }],
    backends: Array.from({ length: backends }, (_, index) => index)
      .filter((index) => index !== without)
      .map((index) => ({ ip: backendIp(index + 1), accepting: true })),
    tcpIdleTimeoutSeconds: 0,
    udpIdleTimeoutSeconds: 0,
  };
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; processes: number; result: T }> {
  const started = process.hrtime.bigint();
  const { result, processes } = await countingProcesses(work);
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, processes, result };
}

/** The old way's floor: one shell running an `nsenter … nft -f -` per namespace, 16 at a time as it did, with nothing to write. */
function spawnFloor(names: readonly string[]): Promise<string> {
  const lanes = Array.from({ length: 16 }, (_, lane) => names.filter((_, index) => index % 16 === lane));
  const script = lanes.map((lane) => `(\n${lane.map((name) => `nsenter --net=${NETNS_RUN_DIR}/${name} -- nft -f - </dev/null\n`).join('')}) &\n`).join('') + 'wait\n';
  return processRunner.run(['sh', '-s'], script);
}

/**
 * `sandboxes` namespaces each balancing one service of `backends` backends. Each round one
 * backend leaves (or comes back): applied as the planned update, and the same state written
 * again by rebuilding every table, measured alike (in-process, as the balancer writes).
 */
export async function measureUpdate(tag: string, sandboxes: number, backends: number, rounds: number, teardown: Teardown, progress: (what: string) => void): Promise<UpdateFigures> {
  const balancer = new NftablesBalancer();
  const names = Array.from({ length: sandboxes }, (_, index) => `${BENCH_PREFIX}${tag}-lb${index}`);
  for (const name of names) await createNetns(name, teardown);
  const desired = (without: number | undefined): NamespaceBalancing[] => names.map((netns) => ({ netns, services: [service(backends, without)] }));

  progress(`programming ${sandboxes} sandboxes with a service of ${backends} backends`);
  const program = await timed(async () => balancer.apply(balancer.plan(desired(undefined), await balancer.observe(names))));
  const sample = { observe: [] as number[], plan: [] as number[], update: [] as number[], rebuild: [] as number[], floor: [] as number[], spawnFloor: [] as number[] };
  let updateProcesses = 0;
  let rebuildProcesses = 0;
  let updateBytes = 0;
  let rebuildBytes = 0;
  for (let round = 0; round < rounds; round += 1) {
    const without = round % 2 === 0 ? Math.floor(backends / 2) : undefined;
    progress(`round ${round + 1}/${rounds}: one backend ${without === undefined ? 'comes back' : 'leaves'}`);
    const observed = await timed(() => balancer.observe(names));
    const planStarted = process.hrtime.bigint();
    const changes = balancer.plan(desired(without), observed.result);
    sample.plan.push(Number(process.hrtime.bigint() - planStarted) / 1e6);
    if (changes.length !== sandboxes || changes.some((change) => change.kind !== 'update')) throw new Error('lb bench: expected one update per sandbox');
    const update = await timed(() => balancer.apply(changes));
    sample.observe.push(observed.ms);
    sample.update.push(update.ms);
    updateProcesses = update.processes;
    updateBytes = changes.reduce((sum, change) => sum + change.transaction.length, 0);

    const rebuilds: NftLbChange[] = desired(without).map(({ netns, services }) => ({ netns, transaction: rebuildTransaction(services), clearFlows: [], kind: 'rebuild' }));
    const rebuild = await timed(() => nativeNftLbKernel.applyChanges(rebuilds));
    if (rebuild.result.size > 0) throw new Error(`lb bench: rebuild failed: ${[...rebuild.result.values()].join('; ')}`);
    sample.rebuild.push(rebuild.ms);
    rebuildProcesses = rebuild.processes;
    rebuildBytes = rebuilds.reduce((sum, change) => sum + change.transaction.length, 0);

    const empty: NftLbChange[] = names.map((netns) => ({ netns, transaction: '', clearFlows: [], kind: 'update' }));
    sample.floor.push((await timed(() => nativeNftLbKernel.applyChanges(empty))).ms);
    sample.spawnFloor.push((await timed(() => spawnFloor(names))).ms);
  }
  const median = (values: number[]): number => percentile(values, 50);
  return {
    sandboxes,
    backends,
    programMs: program.ms,
    observeMs: median(sample.observe),
    planMs: median(sample.plan),
    updateMs: median(sample.update),
    updateProcesses,
    rebuildMs: median(sample.rebuild),
    rebuildProcesses,
    floorMs: median(sample.floor),
    spawnFloorMs: median(sample.spawnFloor),
    updateBytes,
    rebuildBytes,
  };
}
