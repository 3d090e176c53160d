#!/usr/bin/env bash
# The demo: a lab of 1 manager and 2 agents, an overlay network, a sandbox on
# each agent, and a ping across the overlay. The lab keeps running afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

lab() { node dist/e2e/lab/main.js "$@"; }
on() { local host=$1; shift; lab exec "$host" -- "$@"; }
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

lab down >/dev/null 2>&1 || true
say "npm run lab -- up --managers 1 --agents 2"
lab up --managers 1 --agents 2

say "trellis network create --driver overlay --subnet 10.231.0.0/24 demo-net"
on m1 trellis network create --driver overlay --subnet 10.231.0.0/24 demo-net
for host in a1 a2; do
  say "trellis sandbox create web-$host --node $host && trellis network connect demo-net web-$host"
  on m1 trellis sandbox create "web-$host" --node "$host"
  on m1 trellis network connect demo-net "web-$host"
done
say "trellis network inspect demo-net"
on m1 trellis network inspect demo-net

netns=$(on m1 trellis sandbox inspect web-a1 --format json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).netns.replace("/run/netns/","")))')
target=$(on m1 trellis sandbox inspect web-a2 --format json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).endpoints[0].ip))')
say "ping from web-a1 (on a1) to web-a2 ($target, on a2) over the overlay"
for attempt in $(seq 1 50); do
  on a1 ip netns exec "$netns" ping -c 1 -W 1 "$target" >/dev/null 2>&1 && break
  sleep 0.1
done
on a1 ip netns exec "$netns" ping -c 3 "$target"

cat <<'NEXT'

The lab is running. Try next:
  npm run lab -- exec m1 -- trellis node ls
  npm run lab -- exec m1 -- trellis sandbox ls
  ip netns list | grep trnw-                          # a namespace per network and node: trnw-<node digest>-<VNI>
  ip -n trnw-… -d link show                           # its VXLAN device (trvx-…) and bridge (trbr-…)
  bridge -n trnw-… fdb show | grep trvx               # static FDB entries for remote endpoints
  npm run lab -- exec m1 -- trellis network disconnect demo-net web-a2
  npm run lab -- status                               # hosts, addresses, log files
  npm run lab -- down                                 # remove every namespace, link and process of the lab
NEXT
