import type { AddressPoolRecord } from '../manager/store';
import { CommandError } from './command-error';
import { integerOption } from './option-parsers';

export interface AddressPoolFlags {
  defaultAddrPool: readonly string[];
  defaultAddrPoolMaskLength?: string;
}

/** Like `docker swarm init --default-addr-pool`: a mask length alone cuts the built-in pool differently. */
export function defaultAddressPools(flags: AddressPoolFlags): AddressPoolRecord[] | undefined {
  if (flags.defaultAddrPool.length === 0 && flags.defaultAddrPoolMaskLength === undefined) return undefined;
  // The store is loaded only here, when pools are given: a CLI call must not pay for it.
  const { BUILT_IN_ADDRESS_POOLS, Store } = require('../manager/store') as typeof import('../manager/store');
  const [builtIn] = BUILT_IN_ADDRESS_POOLS;
  const size =
    flags.defaultAddrPoolMaskLength === undefined
      ? (builtIn?.size ?? 24)
      : integerOption('--default-addr-pool-mask-length', flags.defaultAddrPoolMaskLength, { min: 0, max: 32 });
  const bases = flags.defaultAddrPool.length > 0 ? flags.defaultAddrPool : BUILT_IN_ADDRESS_POOLS.map((pool) => pool.base);
  const pools = bases.map((base) => ({ base, size }));
  // The store checks them at bootstrap too; checking here turns a refusal into one line instead of a stack.
  const checked = new Store().apply({ type: 'setDefaultAddressPools', pools });
  if (!checked.ok) throw new CommandError(checked.error.message);
  return pools;
}
