import { CommandFailed } from '../kernel';
import { deleteNetnsIfPresent, run } from '../reconcile/kernel-test-support';
import { isMissingTableError, listTableArgv, normalizeListing } from './listing';

/**
 * A host namespace with a gateway bridge and two sandboxes on it, and an "outside" namespace on
 * an underlay veth. The outside has no route to the gateway subnet, so a sandbox reaches it only
 * when masqueraded; it also holds an address of an overlay subnet that the host routes to it.
 */

const tag = `trfw${process.pid}`;

export const lab = {
  host: { netns: `${tag}-h`, underlayIp: '198.18.0.1', gatewayIp: '172.29.0.1' },
  outside: { netns: `${tag}-o`, underlayIp: '198.18.0.2', overlayIp: '10.231.5.1' },
  sandboxA: { netns: `${tag}-a`, gatewayIp: '172.29.0.2', hostPort: 'trfwa' },
  sandboxB: { netns: `${tag}-b`, gatewayIp: '172.29.0.3', hostPort: 'trfwb' },
  gatewayBridge: 'trfwgw',
  gatewaySubnet: '172.29.0.0/16',
  overlaySubnet: '10.231.5.0/24',
  table: `${tag}`,
};

type Sandbox = typeof lab.sandboxA;

const inHost = (...argv: string[]): Promise<string> => run(['ip', '-n', lab.host.netns, ...argv]);
const inOutside = (...argv: string[]): Promise<string> => run(['ip', '-n', lab.outside.netns, ...argv]);

async function addSandbox(sandbox: Sandbox): Promise<void> {
  await run(['ip', 'netns', 'add', sandbox.netns]);
  await inHost('link', 'add', sandbox.hostPort, 'type', 'veth', 'peer', 'name', 'gw0', 'netns', sandbox.netns);
  await inHost('link', 'set', sandbox.hostPort, 'master', lab.gatewayBridge, 'up');
  const inSandbox = (...argv: string[]): Promise<string> => run(['ip', '-n', sandbox.netns, ...argv]);
  await inSandbox('addr', 'add', `${sandbox.gatewayIp}/16`, 'dev', 'gw0');
  await inSandbox('link', 'set', 'gw0', 'up');
  await inSandbox('link', 'set', 'lo', 'up');
  await inSandbox('route', 'add', 'default', 'via', lab.host.gatewayIp);
}

export async function buildLab(): Promise<void> {
  await run(['ip', 'netns', 'add', lab.host.netns]);
  await run(['ip', 'netns', 'exec', lab.host.netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  await inHost('link', 'set', 'lo', 'up');
  await inHost('link', 'add', lab.gatewayBridge, 'type', 'bridge');
  await inHost('addr', 'add', `${lab.host.gatewayIp}/16`, 'dev', lab.gatewayBridge);
  await inHost('link', 'set', lab.gatewayBridge, 'up');
  await addSandbox(lab.sandboxA);
  await addSandbox(lab.sandboxB);

  await run(['ip', 'netns', 'add', lab.outside.netns]);
  await inHost('link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'uplink', 'netns', lab.outside.netns);
  await inHost('addr', 'add', `${lab.host.underlayIp}/24`, 'dev', 'uplink');
  await inHost('link', 'set', 'uplink', 'up');
  await inOutside('addr', 'add', `${lab.outside.underlayIp}/24`, 'dev', 'uplink');
  await inOutside('addr', 'add', `${lab.outside.overlayIp}/24`, 'dev', 'lo');
  await inOutside('link', 'set', 'uplink', 'up');
  await inOutside('link', 'set', 'lo', 'up');
  await inHost('route', 'add', lab.overlaySubnet, 'via', lab.outside.underlayIp);
}

export async function removeLab(): Promise<void> {
  for (const netns of [lab.sandboxA.netns, lab.sandboxB.netns, lab.outside.netns, lab.host.netns]) {
    await deleteNetnsIfPresent(netns).catch(() => undefined);
  }
}

/** A route that lets the outside address sandboxes directly, for the length of `body` only. */
export async function withOutsideRouteToSandboxes<T>(body: () => Promise<T>): Promise<T> {
  await inOutside('route', 'add', lab.gatewaySubnet, 'via', lab.host.underlayIp);
  try {
    return await body();
  } finally {
    await inOutside('route', 'del', lab.gatewaySubnet, 'via', lab.host.underlayIp);
  }
}

export function nftInHost(script: string): Promise<string> {
  return run(['ip', 'netns', 'exec', lab.host.netns, 'nft', '-f', '-'], script);
}

/** The normalized listing, or undefined when the table does not exist. */
export async function listedTable(table: string): Promise<string | undefined> {
  try {
    return normalizeListing(await run(['ip', 'netns', 'exec', lab.host.netns, ...listTableArgv(table)]));
  } catch (error) {
    if (error instanceof CommandFailed && isMissingTableError(error.stderr)) return undefined;
    throw error;
  }
}

/** Deletes the first rule whose text contains `fragment`, by its handle, as an operator would. */
export async function deleteRuleByHand(table: string, chain: string, fragment: string): Promise<void> {
  const listing = await run(['ip', 'netns', 'exec', lab.host.netns, 'nft', '-a', 'list', 'chain', 'ip', table, chain]);
  const handle = listing
    .split('\n')
    .find((line) => line.includes(fragment))
    ?.match(/# handle (\d+)$/)?.[1];
  if (handle === undefined) throw new Error(`no rule with ${fragment} in ${table} ${chain}`);
  await run(['ip', 'netns', 'exec', lab.host.netns, 'nft', 'delete', 'rule', 'ip', table, chain, 'handle', handle]);
}
