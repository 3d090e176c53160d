/**
 * One kernel write, expressed as one line of an `ip -batch` / `bridge -batch` file, and the
 * namespace it must run in. Consecutive actions with the same tool and namespace are applied
 * as one batch.
 */
export type Scope =
  /** Where the agent process itself runs; `ip netns add/del` must run here (see iproute-kernel.ts). */
  | { kind: 'root' }
  /** The namespace holding the underlay device, bridges, VXLAN devices and host-side veths. */
  | { kind: 'host' }
  | { kind: 'sandbox'; netns: string };

export type Tool = 'ip' | 'bridge';

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

export function inSandbox(netns: string): Scope {
  return { kind: 'sandbox', netns };
}

export function ipAction(scope: Scope, ...args: string[]): KernelAction {
  return { scope, tool: 'ip', args };
}

export function bridgeAction(...args: string[]): KernelAction {
  return { scope: HOST, tool: 'bridge', args };
}

function scopeKey(scope: Scope): string {
  return scope.kind === 'sandbox' ? `sandbox:${scope.netns}` : scope.kind;
}

/** The command as a user would type it from the host namespace. */
export function describeAction(action: KernelAction): string {
  const netns = action.scope.kind === 'sandbox' ? ['-n', action.scope.netns] : [];
  return [action.tool, ...netns, ...action.args].join(' ');
}

/** Groups consecutive actions that can share one batch invocation, keeping their order. */
export function toBatches(actions: readonly KernelAction[]): Batch[] {
  const batches: Batch[] = [];
  for (const action of actions) {
    const last = batches[batches.length - 1];
    if (last && last.tool === action.tool && scopeKey(last.scope) === scopeKey(action.scope)) {
      last.lines.push(action.args);
    } else {
      batches.push({ scope: action.scope, tool: action.tool, lines: [action.args] });
    }
  }
  return batches;
}
