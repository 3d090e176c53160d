import type { Command } from 'commander';

/**
 * Examples shown at the end of each command's --help, like a man page's EXAMPLES section.
 * Keyed by the command's path after `trellis`; every runnable command has some (a test checks).
 */
export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  '': [
    'trellis cluster init --data-dir /var/lib/trellis/manager',
    'trellis network create --attachable web',
    'trellis --manager 10.0.0.1:4240,10.0.0.2:4240 network ls',
    'trellis network connect --help',
  ],
  'network create': [
    'trellis network create web',
    'trellis network create --subnet 10.1.0.0/24 --gateway 10.1.0.254 --attachable backend',
    'trellis network create --internal --mtu 1400 --label team=db db-net',
    'trellis network create --driver bridge --node worker-1 --subnet 172.30.0.0/24 -o icc=false isolated',
    'trellis network create --driver macvlan --node worker-1 --parent eth0 --subnet 192.168.1.0/24 --gateway 192.168.1.1 --ip-range 192.168.1.192/27 lan',
    'trellis network create --driver ipvlan --node worker-1 --parent eth0.42 --subnet 10.42.0.0/24 -o ipvlan_mode=l3 vlan42',
  ],
  'network ls': ['trellis network ls', 'trellis network ls --format json'],
  'network inspect': ['trellis network inspect web'],
  'network rm': ['trellis network rm web'],
  'network connect': [
    'trellis network connect web app1',
    'trellis network connect --ip 10.1.0.10 --alias api backend app1',
    'trellis network connect --service api --publish 8080:80 web app2',
    'trellis network connect --publish-all --expose 80 --expose 53/udp isolated app3',
  ],
  'network disconnect': ['trellis network disconnect web app1', 'trellis network disconnect --force web app1'],
  'sandbox create': [
    'trellis sandbox create app1 --node worker-1',
    'trellis sandbox create legacy --node worker-1 --netns /run/netns/legacy',
    'trellis sandbox create sidecar --node worker-1 --network container:app1',
    'trellis sandbox create tools --node worker-1 --network host',
  ],
  'sandbox port': ['trellis sandbox port app3', 'trellis sandbox port app3 80/tcp', 'trellis sandbox port app3 --format json'],
  'sandbox ls': ['trellis sandbox ls', 'trellis sandbox ls --format json'],
  'sandbox inspect': ['trellis sandbox inspect app1'],
  'sandbox rm': ['trellis sandbox rm app1'],
  'service create': [
    'trellis service create api --network web',
    'trellis service create dns-api --network web --endpoint-mode dnsrr --publish 8080:80',
    'trellis service create db --network web --drain-timeout 2m --idle-timeout-tcp 48h --idle-timeout-udp 5m',
  ],
  'service update': [
    'trellis service update api --publish-add 8443:443 --publish-rm 8080',
    'trellis service update api --publish-rm 8080 --publish-add 8080:81',
    'trellis service update api --drain-timeout 0 --idle-timeout-tcp 1h',
  ],
  'service ls': ['trellis service ls'],
  'service inspect': ['trellis service inspect api'],
  'service rm': ['trellis service rm api'],
  'node ls': ['trellis node ls', 'trellis node ls --format json'],
  'node inspect': ['trellis node inspect worker-1'],
  'node update': ['trellis node update --availability drain worker-1', 'trellis node update --label-add zone=b --label-rm rack worker-1'],
  'node rm': ['trellis node rm worker-1', 'trellis node rm --force worker-1'],
  'cluster init': ['trellis cluster init --data-dir /var/lib/trellis/manager', 'trellis cluster init --data-dir ./m1 --default-addr-pool 10.20.0.0/16 --cert-expiry 30d'],
  'cluster join-token': ['trellis cluster join-token worker', 'trellis cluster join-token --rotate --quiet manager'],
  'cluster admin-cert': ['trellis cluster admin-cert', 'trellis cluster admin-cert --renew'],
  'cluster ca': ['trellis cluster ca', 'trellis cluster ca --rotate'],
  'cluster update': ['trellis cluster update --autolock true'],
  'cluster unlock': ['trellis --manager 10.0.0.2:4240 cluster unlock', 'trellis cluster unlock --key-file /root/unlock.key'],
  'cluster unlock-key': ['trellis cluster unlock-key --quiet', 'trellis cluster unlock-key --rotate'],
  manager: [
    'trellis manager --data-dir /var/lib/trellis/manager --listen 10.0.0.1:4240',
    'TRELLIS_JOIN_TOKEN=TRLS-1-... trellis manager --join 10.0.0.1:4240 --data-dir /var/lib/trellis/manager --listen 10.0.0.2:4240',
  ],
  'manager ls': ['trellis manager ls'],
  'manager leave': ['trellis --manager 10.0.0.3:4240 manager leave', 'trellis manager leave --id 3f2a9c'],
  agent: ['TRELLIS_JOIN_TOKEN=TRLS-1-... trellis agent --manager 10.0.0.1:4240 --node worker-1 --advertise-addr 10.0.0.11 --underlay-device eth1'],
  version: ['trellis version', 'trellis version --client --format json'],
  config: ['trellis config check /etc/trellis/agent.yaml'],
  'config check': [
    'trellis config check /etc/trellis/manager.yaml',
    'trellis config check --role agent --format json ./agent.yaml',
    'trellis config check /etc/trellis/agent.yaml --format json',
  ],
  completion: [
    'source <(trellis completion bash)',
    'trellis completion bash > /etc/bash_completion.d/trellis',
    'trellis completion zsh > "${fpath[1]}/_trellis"',
  ],
};

/** The words after `trellis` that name `command`: "network create". */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at?.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/** Adds each command's examples to the end of its help, the whole tree down. */
export function addExamples(command: Command): void {
  const examples = EXAMPLES[commandPath(command)];
  if (examples) command.addHelpText('after', `\nExamples:\n${examples.map((line) => `  ${line}`).join('\n')}`);
  for (const sub of command.commands) addExamples(sub);
}
