/**
 * One kernel write, expressed as one line of an `ip -batch` / `bridge -batch` file, and the
 * namespace it must run in. Consecutive actions with the same tool and namespace are applied
 * as one batch.
 */
export type Scope =
  /** Where the agent process itself runs; `ip netns add/del` must run here (see iproute-kernel.ts). */
  | { kind: 'root' }
  /** The namespace holding the underlay device, the gateway bridge and the firewall. */
  | { kind: 'host' }
  /** A sandbox's or a network's namespace, by its name under /run/netns. */
  | { kind: 'netns'; netns: string };

/**
 * `nft` takes a whole script as its one line (`nft -f -`), `sysctl` a `-w key=value` assignment;
 * `ip` and `bridge` lines are batch lines. `attach` names the namespace its scope leads to as its
 * one argument under /run/netns (`ip netns attach NAME $$` typed there): iproute2 wants the PID of
 * a process inside, which only the running command knows.
 */
export type Tool = 'ip' | 'bridge' | 'nft' | 'sysctl' | 'attach';

export interface KernelAction {
  scope: Scope;
  tool: Tool;
  args: string[];
}

export interface Batch {
  scope: Scope;
  tool: Tool;
  lines: string[][];
}

export const ROOT: Scope = { kind: 'root' };
export const HOST: Scope = { kind: 'host' };

export function inNetns(netns: string): Scope {
  return { kind: 'netns', netns };
}

export function ipAction(scope: Scope, ...args: string[]): KernelAction {
  return { scope, tool: 'ip', args };
}

/** Names the namespace `scope` leads to `netns` under /run/netns. */
export function attachAction(scope: Scope, netns: string): KernelAction {
  return { scope, tool: 'attach', args: [netns] };
}

export function bridgeAction(scope: Scope, ...args: string[]): KernelAction {
  return { scope, tool: 'bridge', args };
}

function scopeKey(scope: Scope): string {
  return scope.kind === 'netns' ? `netns:${scope.netns}` : scope.kind;
}

/** The command as a user would type it from the host namespace (an nft script folded onto the line). */
export function describeAction(action: KernelAction): string {
  const { scope, tool, args } = action;
  if (tool === 'ip' || tool === 'bridge') {
    return [tool, ...(scope.kind === 'netns' ? ['-n', scope.netns] : []), ...args].join(' ');
  }
  const enter = scope.kind === 'netns' ? ['ip', 'netns', 'exec', scope.netns] : [];
  if (tool === 'attach') return [...enter, 'ip', 'netns', 'attach', ...args, '$$'].join(' ');
  const command = tool === 'nft' ? ['nft', '-f', '-', '<<', JSON.stringify(args.join('\n'))] : ['sysctl', '-w', ...args];
  return [...enter, ...command].join(' ');
}

/** `ip` and `bridge` take many lines in one `-batch` run, and report each failed line by its number. */
export function isLineBatch(tool: Tool): boolean {
  return tool === 'ip' || tool === 'bridge';
}

/** Groups consecutive actions that can share one batch invocation, keeping their order. */
export function toBatches(actions: readonly KernelAction[]): Batch[] {
  const batches: Batch[] = [];
  for (const action of actions) {
    const last = batches[batches.length - 1];
    if (isLineBatch(action.tool) && last && last.tool === action.tool && scopeKey(last.scope) === scopeKey(action.scope)) {
      last.lines.push(action.args);
    } else {
      batches.push({ scope: action.scope, tool: action.tool, lines: [action.args] });
    }
  }
  return batches;
}

/**
 * Runs of consecutive batches that may run at once: each only deletes, and in a namespace of its
 * own. A device's delete costs the kernel ≈ 15–25 ms, most of it waiting for RCU after the
 * netlink lock is released, so deletes in different namespaces overlap those waits (20 VXLAN
 * devices: 0.37 s one after another, 0.08 s at once). The plan orders deletes by phase (host,
 * networks, sandboxes), never within one, and never deletes the two ends of a pair. Every other
 * batch is a group of its own.
 */
export function concurrentGroups(batches: readonly Batch[]): Batch[][] {
  const groups: Batch[][] = [];
  for (const batch of batches) {
    const last = groups[groups.length - 1];
    const deletesInNetns = (candidate: Batch) => candidate.scope.kind === 'netns' && candidate.lines.every((line) => line[1] === 'del');
    const overlaps = last !== undefined && last.every(deletesInNetns) && deletesInNetns(batch)
      && !last.some((other) => scopeKey(other.scope) === scopeKey(batch.scope));
    if (overlaps) last.push(batch);
    else groups.push([batch]);
  }
  return groups;
}
