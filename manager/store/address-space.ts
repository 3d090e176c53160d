import { LowestFreeAllocator } from './allocator';
import { cidrContains, lastAddress, type Cidr } from '../../proto/runtime/ipv4';

/** A subnet as the address space needs it: where dynamic addresses come from, and what is never handed out. */
export interface AddressSubnet {
  subnet: Cidr;
  /** Dynamic addresses come from here; the whole subnet when absent. */
  ipRange?: Cidr;
  /** Gateway and auxiliary addresses: taken from the start, never handed out. */
  reserved: readonly number[];
}

/**
 * Every address of one network, over all its subnets. The network's subnets never
 * overlap, so each address belongs to exactly one subnet's allocator. Holds the
 * gateways, auxiliary addresses, endpoint addresses and service VIPs of the network.
 */
export class AddressSpace {
  private readonly subnets: { subnet: Cidr; pool: LowestFreeAllocator }[];

  constructor(subnets: readonly AddressSubnet[]) {
    this.subnets = subnets.map(({ subnet, ipRange, reserved }) => {
      const range = ipRange ?? subnet;
      // Never the subnet's network or broadcast address, even when the ip_range includes them.
      const pool = new LowestFreeAllocator(
        Math.max(range.network, subnet.network + 1),
        Math.min(lastAddress(range), lastAddress(subnet) - 1),
      );
      for (const address of reserved) pool.reserve(address);
      return { subnet, pool };
    });
  }

  /** The lowest free address of the first subnet with room; undefined when every subnet is full. */
  allocate(): number | undefined {
    for (const { pool } of this.subnets) {
      const address = pool.allocate();
      if (address !== undefined) return address;
    }
    return undefined;
  }

  /** Takes an address of one of the subnets; false if it is taken or in none of them. */
  reserve(address: number): boolean {
    return this.poolOf(address)?.reserve(address) ?? false;
  }

  release(address: number): void {
    this.poolOf(address)?.release(address);
  }

  isTaken(address: number): boolean {
    return this.poolOf(address)?.isTaken(address) ?? false;
  }

  subnetOf(address: number): Cidr | undefined {
    return this.subnets.find(({ subnet }) => cidrContains(subnet, address))?.subnet;
  }

  private poolOf(address: number): LowestFreeAllocator | undefined {
    return this.subnets.find(({ subnet }) => cidrContains(subnet, address))?.pool;
  }
}
