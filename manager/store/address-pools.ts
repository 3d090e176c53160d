import type { SetDefaultAddressPools } from './commands';
import { fail, ok, type Result } from './errors';
import { checkUsableSubnet, MIN_SUBNET_PREFIX, parseCidrField } from './fields';
import { cidrsOverlap, formatCidr, lastAddress, type Cidr } from '../../proto/runtime/ipv4';
import { gatewaySubnets } from './gateway-subnets';
import { storedCidr, type AddressPoolRecord, type StoreState } from './state';

/*
 * The cluster's default address pools: where a network created without a subnet
 * gets one, like Swarm's --default-addr-pool. Chosen inside `apply` from the
 * replicated state only, so every replica picks the same block.
 */

/** A /30 leaves two host addresses, one of them the gateway: too small to be worth a network. */
const MAX_POOL_SUBNET_PREFIX = 29;

export function setDefaultAddressPools(state: StoreState, command: SetDefaultAddressPools): Result<AddressPoolRecord[]> {
  if (command.pools.length === 0) {
    return fail('INVALID_ARGUMENT', 'default_addr_pool', 'default_addr_pool: give at least one pool, like 10.0.0.0/8');
  }
  const pools: AddressPoolRecord[] = [];
  for (const pool of command.pools) {
    const checked = checkPool(pool);
    if (!checked.ok) return checked;
    pools.push(checked.value);
  }
  state.defaultAddressPools = pools;
  return ok(structuredClone(pools));
}

/** Field names are the manager's flags: pools come from there, through the bootstrap. */
function checkPool(pool: AddressPoolRecord): Result<AddressPoolRecord> {
  const base = parseCidrField('default_addr_pool', pool.base, '10.0.0.0/8');
  if (!base.ok) return base;
  const usable = checkUsableSubnet('default_addr_pool', base.value);
  if (!usable.ok) return usable;
  const smallest = Math.max(base.value.prefixLength, MIN_SUBNET_PREFIX);
  if (!Number.isInteger(pool.size) || pool.size < smallest || pool.size > MAX_POOL_SUBNET_PREFIX) {
    return fail(
      'INVALID_ARGUMENT',
      'default_addr_pool_mask_length',
      `default_addr_pool_mask_length: /${pool.size} does not fit pool ${formatCidr(base.value)}; give a mask length between ${smallest} and ${MAX_POOL_SUBNET_PREFIX}`,
    );
  }
  return ok({ base: formatCidr(base.value), size: pool.size });
}

/** The lowest block of the first pool with room that overlaps no subnet of any network. */
export function allocateDefaultSubnet(state: StoreState): Result<Cidr> {
  const used = [...state.networks.values()].flatMap((network) => network.ipam.map((config) => storedCidr(config.subnet)));
  used.push(...gatewaySubnets(state));
  for (const pool of state.defaultAddressPools) {
    const block = lowestFreeBlock(storedCidr(pool.base), pool.size, used);
    if (block) return ok(block);
  }
  const pools = state.defaultAddressPools.map((pool) => `${pool.base} in /${pool.size}s`).join(', ');
  return fail(
    'RESOURCE_EXHAUSTED',
    'subnet',
    `subnet: no block of the default address pools (${pools}) is free of existing networks; remove unused networks, or give --subnet`,
  );
}

function lowestFreeBlock(base: Cidr, size: number, used: readonly Cidr[]): Cidr | undefined {
  const blockSize = 2 ** (32 - size);
  for (let candidate = base.network; candidate <= lastAddress(base); ) {
    const block = { network: candidate, prefixLength: size };
    const clashes = used.filter((subnet) => cidrsOverlap(subnet, block));
    if (clashes.length === 0) return block;
    // Jump past the clashing subnets in one step (blocks are aligned to their size), so a pool full of networks costs O(networks²), not O(blocks).
    const clashEnd = Math.max(...clashes.map(lastAddress));
    candidate = (Math.floor(clashEnd / blockSize) + 1) * blockSize;
  }
  return undefined;
}
