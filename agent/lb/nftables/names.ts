import { createHash } from 'node:crypto';
import type { LbProtocol } from '../model';

/**
 * Names inside each sandbox namespace. The table's name is unique to Trellis so that in an adopted
 * namespace it never meets a table of the user's; inside it, every object is the agent's.
 */
export const LB_TABLE = 'trellis_lb';
/** VIP → goto the VIP's chain: one lookup whatever the port, however many VIPs. */
export const SERVICES_MAP = 'services';
/** The nat output base chain: clients are local processes of the namespace. */
export const OUTPUT_CHAIN = 'output';

/**
 * The prefix of one service's objects: a hash keeps distinct keys apart, the readable part lets an
 * operator find a service in `nft list table ip trellis_lb`. nft names allow [A-Za-z0-9_.-/].
 */
export function serviceBase(key: string): string {
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 10);
  return `svc-${hash}-${key.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 40)}`;
}

/** index → backend address: the accepting backends that `numgen random mod N` picks from. */
export const backendsMap = (base: string): string => `${base}-backends`;
/** The draining backends: no new flows; recorded so a later read knows whose flows to clear when they leave. */
export const drainingSet = (base: string): string => `${base}-draining`;
/** The chain every new flow to the VIP goes through, whatever its protocol and port. */
export const vipChain = (base: string): string => `${base}-vip`;

/** The base of a VIP chain's name; undefined for any other name. */
export function baseOfChainName(name: string): string | undefined {
  return /^(svc-[0-9a-f]{10}-[A-Za-z0-9_.]*)-vip$/.exec(name)?.[1];
}

/** Timeout objects are shared by every service with the same idle timeout: the name says it all. */
export const timeoutName = (protocol: LbProtocol, seconds: number): string => `${protocol}-idle-${seconds}`;
