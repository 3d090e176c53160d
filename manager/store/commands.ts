import type { Endpoint, Network, Node, Sandbox } from '../../proto/gen/trellis/v1/types';
import type { Result } from './errors';

/*
 * Commands carry every id and choice the store cannot make itself, so applying
 * the same commands in the same order gives the same state on every replica.
 * They are plain JSON: the log stores them as they are.
 * References to existing objects (`network`, `sandbox`, `node`) take a name or an id.
 */

export interface CreateNetwork {
  type: 'createNetwork';
  id: string;
  name: string;
  /** '' means overlay. */
  driver: string;
  subnet: string;
  /** Absent or '' means the first usable address of the subnet. */
  gateway?: string;
  /** Absent or '' means the whole subnet. */
  ipRange?: string;
}

export interface RemoveNetwork {
  type: 'removeNetwork';
  network: string;
}

/** Registering a name that exists updates its address and keeps its id. */
export interface RegisterNode {
  type: 'registerNode';
  id: string;
  name: string;
  advertiseAddr: string;
}

export interface CreateSandbox {
  type: 'createSandbox';
  id: string;
  name: string;
  node: string;
}

/** Also disconnects the sandbox from every network. */
export interface RemoveSandbox {
  type: 'removeSandbox';
  sandbox: string;
}

export interface Connect {
  type: 'connect';
  endpointId: string;
  network: string;
  sandbox: string;
  /** Absent or '' means the lowest free address of the ip_range (or subnet). */
  ip?: string;
  aliases: readonly string[];
}

export interface Disconnect {
  type: 'disconnect';
  network: string;
  sandbox: string;
}

export type Command = CreateNetwork | RemoveNetwork | RegisterNode | CreateSandbox | RemoveSandbox | Connect | Disconnect;

/** What each command returns on success; removals return the object as it was just before. */
export interface CommandValues {
  createNetwork: Network;
  removeNetwork: Network;
  registerNode: Node;
  createSandbox: Sandbox;
  removeSandbox: Sandbox;
  connect: Endpoint;
  disconnect: Endpoint;
}

export type CommandOf<T extends Command['type']> = Extract<Command, { type: T }>;

/** What applying `C` gives on success: `Network` for createNetwork, `Endpoint` for connect, … */
export type AppliedValue<C extends Command> = CommandValues[C['type']];

export type ApplyResult<C extends Command = Command> = Result<AppliedValue<C>>;
