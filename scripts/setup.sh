#!/usr/bin/env bash
# Makes a fresh Debian 12 machine (Node 20, root) ready to build, test and run Trellis.
# With --bench it also installs the baselines the benchmarks run against (etcd, dnsmasq) and ethtool
# (bench/dataplane's offload variants); with --test (what scripts/test.sh runs) vagrant, for
# vagrant/vagrantfile.test.ts's `vagrant validate`, systemd and python3 for the readiness tests, and the IPVS lane's
# user-mode-linux (see below).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (Trellis programs the kernel's network stack)" >&2
  exit 1
fi

packages=(iproute2 nftables conntrack iputils-ping iperf3 util-linux procps)
if [ "${1:-}" = "--bench" ]; then packages+=(etcd-server etcd-client ethtool dnsmasq-base); fi
# user-mode-linux, kmod and ipvsadm: the IPVS lane (agent/lb/ipvs.uml.test.ts) runs a UML kernel that has
# IPVS; gcc and libc6-dev build scripts/uml/xstate-shim.c, which UML needs on CPUs with AMX; bind9-dnsutils
# gives e2e/dns.test.ts a real resolver client (dig) inside the sandboxes.
if [ "${1:-}" = "--test" ]; then packages+=(vagrant systemd python3 user-mode-linux kmod ipvsadm gcc libc6-dev bind9-dnsutils); fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# `npm install`, not `npm ci`: the registry this project is built from lacks some other
# platforms' optional binaries (@bufbuild/buf-darwin-*, @swc/core-win32-*...) at the locked
# versions, so the lock file leaves them out and `npm ci` refuses it as out of sync.
# `npm install` installs exactly the locked versions for this platform.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
npm run --silent build
