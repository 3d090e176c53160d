/**
 * The deterministic Raft simulator's command line:
 *   npm run sim -- --nodes 3 --seeds 10000 [--steps 500]
 *   npm run sim -- --nodes 5 --seed 4711            (replay one seed)
 *   npm run sim -- --nodes 3 --seeds 500 --planted-bug follower-reads
 *   npm run sim -- --nodes 3 --seeds 500 --driver-order strict   (every Ready synced, sent after)
 * Exits non-zero on the first failing seed, after printing how to replay it.
 */
import { parseArgs } from 'node:util';
import type { HistoryOp } from './linearizability';
import { runSeed } from './run-seed';
import type { SeedOptions, SeedResult } from './run-seed';
import type { DriverFlaw, DriverOrder } from './sim-node';
import type { PlantedBug } from './workload';

const plantedBugs: readonly PlantedBug[] = ['none', 'follower-reads'];
const driverFlaws: readonly DriverFlaw[] = ['none', 'send-before-persist', 'follower-sends-before-persist', 'term-vote-sends-before-persist'];
const driverOrders: readonly DriverOrder[] = ['production', 'strict'];

const optionSpec = {
  nodes: { type: 'string', default: '3' },
  seeds: { type: 'string', default: '100' },
  seed: { type: 'string' },
  steps: { type: 'string', default: '500' },
  'planted-bug': { type: 'string', default: 'none' },
  'driver-flaw': { type: 'string', default: 'none' },
  'driver-order': { type: 'string', default: 'production' },
} as const;

function main(): number {
  const values = parseOptions();
  const nodes = positiveInteger('nodes', values.nodes);
  const steps = positiveInteger('steps', values.steps);
  const plantedBug = oneOf('planted-bug', values['planted-bug'], plantedBugs);
  const driverFlaw = oneOf('driver-flaw', values['driver-flaw'], driverFlaws);
  const driverOrder = oneOf('driver-order', values['driver-order'], driverOrders);
  const seeds = values.seed === undefined ? range(1, positiveInteger('seeds', values.seeds)) : [positiveInteger('seed', values.seed)];

  const started = process.hrtime.bigint();
  let opsChecked = 0;
  for (const seed of seeds) {
    const options: SeedOptions = { seed, nodes, steps, plantedBug, driverFlaw, driverOrder };
    const result = runSeed(options);
    if (!result.passed) {
      printFailure(options, result);
      return 1;
    }
    opsChecked += result.opsChecked;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `passed: ${seeds.length} seed(s), ${nodes} nodes, ${steps} steps each, ${driverOrder} driver order, ${opsChecked} client ops checked, ` +
      `${seconds.toFixed(1)} s (${(seeds.length / seconds).toFixed(0)} seeds/s)`,
  );
  return 0;
}

/** The command line's options; an unknown or malformed one is a UsageError. */
function parseOptions(): ReturnType<typeof parseArgs<{ options: typeof optionSpec }>>['values'] {
  try {
    return parseArgs({ options: optionSpec }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function printFailure(options: SeedOptions, result: Extract<SeedResult, { passed: false }>): void {
  console.error(`FAILED seed ${options.seed} (${options.nodes} nodes, ${options.steps} steps) at step ${result.step}: ${result.check}`);
  console.error(result.detail);
  if (result.ops) {
    console.error('operations on that key, by invocation:');
    for (const op of [...result.ops].sort((a, b) => a.invokedAt - b.invokedAt)) console.error(`  ${describeOp(op)}`);
  }
  const flags = [
    `--nodes ${options.nodes}`,
    `--seed ${options.seed}`,
    `--steps ${options.steps}`,
    options.plantedBug && options.plantedBug !== 'none' ? `--planted-bug ${options.plantedBug}` : '',
    options.driverFlaw && options.driverFlaw !== 'none' ? `--driver-flaw ${options.driverFlaw}` : '',
    options.driverOrder && options.driverOrder !== 'production' ? `--driver-order ${options.driverOrder}` : '',
  ];
  console.error(`replay: npm run sim -- ${flags.filter(Boolean).join(' ')}`);
}

function describeOp(op: HistoryOp): string {
  const result = op.kind === 'put' ? `put ${op.value}` : `get → ${op.value ?? '(absent)'}`;
  const completed = op.outcome === 'ok' ? String(op.completedAt) : '∞';
  return `[${op.invokedAt}, ${completed}] ${op.clientId} ${result} (${op.outcome})`;
}

/** A bad command line: reported in one line, without a stack. */
class UsageError extends Error {}

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${name} must be a positive integer, not '${text}'`);
  return value;
}

function oneOf<T extends string>(name: string, text: string, allowed: readonly T[]): T {
  const found = allowed.find((candidate) => candidate === text);
  if (found === undefined) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, not '${text}'`);
  return found;
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, offset) => first + offset);
}

try {
  process.exitCode = main();
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(`sim: ${error.message}`);
  process.exitCode = 2;
}
