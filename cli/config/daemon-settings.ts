import { DEFAULT_GATEWAY_SUBNET, parseGatewaySubnet } from '../../agent/reconcile/gateway-subnet';
import { DEFAULT_JOINS_PER_MINUTE } from '../../manager/ca/issue-rate';
import { AGENT_DHT_PORT, MANAGER_DHT_PORT } from '../../proto/runtime/dht/ports';
import { parseListen } from '../../proto/runtime/metrics-http';
import { defaultAddressPools } from '../address-pools';
import { CommandError, defaultManager } from '../context';
import { JOIN_TOKEN_ENV } from '../join-token-source';
import { integerOption, parseReservedPorts } from '../option-parsers';
import type { SettingDefinition } from './settings';
import type { LbEngineChoice } from '../../agent/lb/engine-choice';

/*
 * Every setting of `trellis manager` and `trellis agent`: their flags, TRELLIS_* variables and
 * config file keys are all made from these tables, so none can exist in one place only.
 */

export type DaemonRole = 'manager' | 'agent';

/** --resync-interval: 30s, 500ms, 2m → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!match) throw new CommandError(`--resync-interval: "${text}" is not a duration; use e.g. 30s or 500ms`);
  const unit = { ms: 1, s: 1000, m: 60_000 }[match[2] ?? 's'] ?? 1000;
  return Number(match[1]) * unit;
}

function checkListen(listen: string): void {
  if (/^(0\.0\.0\.0|\[::\]):/.test(listen)) {
    throw new CommandError(`--listen: "${listen}" is not an address other managers can reach; give this host's address, e.g. 198.18.0.1:4240`);
  }
}

function checkMetricsListen(listen: string): void {
  if (listen) parseListen(listen);
}

export function gossipDhtPort(text: string): number {
  return integerOption('--gossip-dht-port', text, { min: 0, max: 65535 });
}

function checkJoinsPerMinute(text: string): void {
  if (integerOption('--max-joins-per-minute', text) === 0) throw new CommandError('--max-joins-per-minute: 0 would let no node join; give 1 or more');
}

/** The agent's service load-balancing engines; auto picks IPVS where the kernel has it. */
const LB_ENGINES: readonly LbEngineChoice[] = ['auto', 'ipvs', 'nftables'];

export function parseLbEngine(text: string): LbEngineChoice {
  const engine = LB_ENGINES.find((name) => name === text);
  if (!engine) throw new CommandError(`--lb: "${text}" is not one of ${LB_ENGINES.join(', ')}; leave it out for auto`);
  return engine;
}

/** --gossip-port: the agent's DHT node's UDP port; 0 lets the kernel choose (tests: peers bootstrap from the managers). */
export function parseGossipPort(text: string): number {
  return integerOption('--gossip-port', text, { min: 0, max: 65_535 });
}

function checkGatewaySubnet(text: string): void {
  const parsed = parseGatewaySubnet(text);
  if (typeof parsed === 'string') throw new CommandError(parsed);
}

function joinTokenSettings(role: 'worker' | 'manager', when: string): SettingDefinition[] {
  return [
    {
      key: 'join-token-file',
      kind: 'string',
      placeholder: 'path',
      group: 'join-token',
      help: `${when}: a file holding the token \`trellis cluster join-token ${role}\` prints (or set ${JOIN_TOKEN_ENV})`,
    },
    {
      key: 'join-token',
      kind: 'string',
      placeholder: 'token',
      group: 'join-token',
      secret: true,
      help: `the same token on the command line, where \`ps\` shows it to every local user (prefer --join-token-file or ${JOIN_TOKEN_ENV})`,
    },
  ];
}

const METRICS_LISTEN: SettingDefinition = {
  key: 'metrics-listen',
  kind: 'string',
  placeholder: 'host:port',
  default: '',
  check: checkMetricsListen,
  help: 'serve Prometheus metrics at http://HOST:PORT/metrics (default: off)',
};

const LOG_LEVEL: SettingDefinition = {
  key: 'log-level',
  kind: 'string',
  placeholder: 'level',
  default: 'info',
  choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
  help: 'pino log level',
};

export const MANAGER_SETTINGS: readonly SettingDefinition[] = [
  { key: 'listen', kind: 'string', placeholder: 'host:port', default: '127.0.0.1:4240', check: checkListen, help: 'address to serve gRPC on; other managers and agents reach this one there' },
  { key: 'data-dir', kind: 'string', placeholder: 'dir', default: '/var/lib/trellis/manager', help: 'where the Raft log and snapshots live' },
  { key: 'join', kind: 'string', placeholder: 'host:port', help: 'join the cluster of this manager (as a learner, promoted once caught up)' },
  ...joinTokenSettings('manager', 'with --join, the first time'),
  { key: 'admin-dir', kind: 'string', placeholder: 'dir', help: "when this manager creates a new cluster itself: where the CLI's admin certificate goes (default: --tls-dir)" },
  { key: 'force-new-cluster', kind: 'boolean', help: "recover this manager's committed state into a new one-member cluster" },
  {
    key: 'default-addr-pool',
    kind: 'list',
    placeholder: 'cidr',
    default: [],
    check: (pools) => void defaultAddressPools({ defaultAddrPool: pools }),
    help: 'pool networks without --subnet get theirs from (repeatable; new clusters only; default 10.0.0.0/8)',
  },
  {
    key: 'default-addr-pool-mask-length',
    kind: 'integer',
    placeholder: 'n',
    check: (length) => void integerOption('--default-addr-pool-mask-length', length, { min: 0, max: 32 }),
    help: 'prefix length of the subnets cut from the pools (new clusters only; default 24)',
  },
  METRICS_LISTEN,
  {
    key: 'max-joins-per-minute',
    kind: 'integer',
    placeholder: 'n',
    check: checkJoinsPerMinute,
    help: `certificates one join token may get from this manager per minute (default ${DEFAULT_JOINS_PER_MINUTE})`,
  },
  {
    key: 'gossip-dht-port',
    kind: 'integer',
    placeholder: 'port',
    default: String(MANAGER_DHT_PORT),
    check: (text) => void gossipDhtPort(text),
    help: "UDP port of this manager's gossip DHT bootstrap node, on the --listen host; the same on every manager (0: any free port, for tests)",
  },
  LOG_LEVEL,
];

export const AGENT_SETTINGS: readonly SettingDefinition[] = [
  { key: 'manager', kind: 'csv', placeholder: 'host:port', default: defaultManager, global: true, help: 'managers to dial, comma-separated' },
  { key: 'node', kind: 'string', placeholder: 'name', required: true, help: 'name of this node' },
  { key: 'advertise-addr', kind: 'string', placeholder: 'ip', required: true, help: 'underlay IPv4 address other nodes reach this one at (VXLAN endpoint)' },
  { key: 'underlay-device', kind: 'string', placeholder: 'dev', default: 'eth0', help: 'underlay interface VXLAN traffic leaves through' },
  { key: 'gateway-subnet', kind: 'string', placeholder: 'cidr', default: DEFAULT_GATEWAY_SUBNET, check: checkGatewaySubnet, help: "subnet of the trellis_gw bridge, sandboxes' way out (masqueraded)" },
  ...joinTokenSettings('worker', 'the first time'),
  { key: 'state-dir', kind: 'string', placeholder: 'dir', default: '/var/lib/trellis/agent', help: "where the agent keeps the node's certificate" },
  { key: 'resync-interval', kind: 'string', placeholder: 'duration', default: '30s', check: (text) => void parseDuration(text), help: 'period of the level-triggered repair pass' },
  {
    key: 'lb',
    kind: 'string',
    placeholder: LB_ENGINES.join('|'),
    default: 'auto',
    check: (text) => void parseLbEngine(text),
    help: "engine of services' VIP load balancing: IPVS where the kernel has it (auto), else nftables",
  },
  {
    key: 'gossip',
    kind: 'boolean',
    help: "learn other gossiping nodes' endpoints from them (agent to agent, over hyperswarm) rather than from the managers' views; the managers stay the judge",
  },
  {
    key: 'gossip-port',
    kind: 'integer',
    placeholder: 'port',
    default: String(AGENT_DHT_PORT),
    check: (text) => void parseGossipPort(text),
    help: `with --gossip: UDP port of this agent's gossip DHT node, on --advertise-addr (open it between nodes, with the managers' ${MANAGER_DHT_PORT}/udp)`,
  },
  METRICS_LISTEN,
  {
    key: 'reserved-ports',
    kind: 'list',
    placeholder: 'port[/tcp|udp]',
    default: [],
    check: (ports) => void parseReservedPorts(ports),
    help: 'ports of this node no sandbox may publish, PORT[/tcp|udp] comma-separated (repeatable; the metrics port is reserved by itself)',
  },
  LOG_LEVEL,
];

export const DAEMON_SETTINGS: Readonly<Record<DaemonRole, { definitions: readonly SettingDefinition[]; defaultFile: string }>> = {
  manager: { definitions: MANAGER_SETTINGS, defaultFile: '/etc/trellis/manager.yaml' },
  agent: { definitions: AGENT_SETTINGS, defaultFile: '/etc/trellis/agent.yaml' },
};
