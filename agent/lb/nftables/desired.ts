import type { LbProtocol, LbService } from '../model';
import { backendsMap, drainingSet, serviceBase, timeoutName, vipChain } from './names';
import { DISPATCH_RULE, REFUSE_RULE, dnatRule, timeoutRule } from './rules';
import { DEFAULT_TIMEOUT_SECONDS, DesiredTable, timeoutPolicy } from './table';

/** Any fixed order will do (it decides where new backends land in the map); parsing addresses to sort them was most of a plan. */
const sortedAddresses = (addresses: Iterable<string>): string[] => [...new Set(addresses)].sort();

/** The timeout object a protocol's flows through the VIP get, or undefined for conntrack's default. */
function idleTimeout(service: LbService, protocol: LbProtocol): { name: string; policy: string } | undefined {
  const seconds = protocol === 'tcp' ? service.tcpIdleTimeoutSeconds : service.udpIdleTimeoutSeconds;
  if (seconds <= 0 || seconds === DEFAULT_TIMEOUT_SECONDS[protocol]) return undefined;
  return { name: timeoutName(protocol, seconds), policy: timeoutPolicy(protocol, seconds) };
}

/** One service's backends as the table holds them. */
interface ServiceBackends {
  base: string;
  accepting: string[];
  draining: Set<string>;
}

/**
 * By service object: every sandbox on a network balances the same LbService objects (see
 * desiredBalancing), so a pass sorts a service's thousand backends once, not once per sandbox.
 */
const backendsOf = new WeakMap<LbService, ServiceBackends>();

function serviceBackends(service: LbService): ServiceBackends {
  const known = backendsOf.get(service);
  if (known) return known;
  const accepting = sortedAddresses(service.backends.filter((backend) => backend.accepting).map((backend) => backend.ip));
  const isAccepting = new Set(accepting);
  const draining = new Set(service.backends.filter((backend) => !isAccepting.has(backend.ip)).map((backend) => backend.ip));
  const made = { base: serviceBase(service.key), accepting, draining };
  backendsOf.set(service, made);
  return made;
}

/**
 * The table a namespace balancing `services` must hold. A VIP takes every port and protocol (the
 * ports a service declares do not matter here: the flow keeps its port), so a VIP is one element
 * of the services map and one chain. A VIP that two services claim goes to the first by key (the
 * map cannot hold both).
 */
export function desiredTable(services: readonly LbService[]): DesiredTable {
  const table = {
    outputRules: [DISPATCH_RULE],
    services: new Map<string, string>(),
    backendMaps: new Map<string, string[]>(),
    drainingSets: new Map<string, Set<string>>(),
    chains: new Map<string, string[]>(),
    timeouts: new Map<string, string>(),
  };
  for (const service of [...services].sort((a, b) => a.key.localeCompare(b.key))) {
    const { base, accepting, draining } = serviceBackends(service);
    table.backendMaps.set(backendsMap(base), accepting);
    table.drainingSets.set(drainingSet(base), draining);
    if (table.services.has(service.vip)) continue;
    const chain = vipChain(base);
    table.services.set(service.vip, chain);
    if (accepting.length === 0) {
      table.chains.set(chain, [REFUSE_RULE]);
      continue;
    }
    // A timeout object acts only on flows of its own protocol: both rules can stand unconditionally.
    const timeouts = (['tcp', 'udp'] as const).flatMap((protocol) => idleTimeout(service, protocol) ?? []);
    for (const timeout of timeouts) table.timeouts.set(timeout.name, timeout.policy);
    table.chains.set(chain, [...timeouts.map((timeout) => timeoutRule(timeout.name)), dnatRule(accepting.length, backendsMap(base))]);
  }
  return table;
}
