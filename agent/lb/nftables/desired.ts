import type { LbPort, LbService } from '../model';
import { backendsMap, drainingSet, portChain, serviceBase, timeoutName } from './names';
import { DISPATCH_RULE, REFUSE_RULE, dnatRule, timeoutRule } from './rules';
import { DEFAULT_TIMEOUT_SECONDS, DesiredTable, serviceElement, timeoutPolicy } from './table';

/** Any fixed order will do (it decides where new backends land in the map); parsing addresses to sort them was most of a plan. */
const sortedAddresses = (addresses: Iterable<string>): string[] => [...new Set(addresses)].sort();

/** The timeout object a port's flows get, or undefined for conntrack's default. */
function portTimeout(service: LbService, port: LbPort): { name: string; policy: string } | undefined {
  const seconds = port.protocol === 'tcp' ? service.tcpIdleTimeoutSeconds : service.udpIdleTimeoutSeconds;
  if (seconds <= 0 || seconds === DEFAULT_TIMEOUT_SECONDS[port.protocol]) return undefined;
  return { name: timeoutName(port.protocol, seconds), policy: timeoutPolicy(port.protocol, seconds) };
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
 * The table a namespace balancing `services` must hold. A VIP-port that two services claim goes to
 * the first by key (the map cannot hold both); so does a port listed twice.
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
    for (const port of service.ports) {
      const element = serviceElement(service.vip, port.protocol, port.port);
      if (table.services.has(element)) continue;
      const chain = portChain(base, port.protocol, port.port);
      const timeout = portTimeout(service, port);
      if (timeout !== undefined && accepting.length > 0) table.timeouts.set(timeout.name, timeout.policy);
      table.services.set(element, chain);
      table.chains.set(
        chain,
        accepting.length === 0
          ? [REFUSE_RULE]
          : [...(timeout === undefined ? [] : [timeoutRule(timeout.name)]), dnatRule(port.protocol, accepting.length, backendsMap(base), port.targetPort)],
      );
    }
  }
  return table;
}
