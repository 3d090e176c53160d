#!/usr/bin/env bash
# Provisions one machine of the Vagrant cluster (vagrant/Vagrantfile) through deploy/install.sh
# and the config files, nothing else:
#
#   provision.sh --name NAME --ip IP --managers IP,IP,... [--role manager|worker]
#                [--repo DIR] [--shared DIR] [--artifact PATH] [--underlay-device DEV]
#                [--root DIR] [--wait SECONDS]
#
# Every machine runs an agent; a manager also runs a manager. The first of --managers starts the
# cluster (its manager's empty data dir), then publishes the join tokens to the shared folder
# (--shared, default REPO/vagrant/.cluster, which is /vagrant/vagrant/.cluster in the VMs); the
# others wait there for them (--wait, default 600 s) and join. Run again, it changes nothing.
#
# --root DIR: everything goes into DIR as deploy/install.sh --root does, and what needs the
# running machine (installing Node.js, systemctl, asking the manager for tokens) is skipped and
# said so; the tokens are still taken from --shared. That is how a test runs this without a VM.
set -euo pipefail

name='' ip='' managers='' role=worker root='' underlay='' wait=600 port=4240
repo=/vagrant
shared='' artifact=''

say() { printf 'provision %s: %s\n' "${name:-?}" "$*"; }
fail() {
  printf 'provision %s: %s\n' "${name:-?}" "$*" >&2
  exit 1
}
skipped() { say "skipped (--root $root): $*"; }
on_system() { [ -z "$root" ]; }

while [ $# -gt 0 ]; do
  case $1 in
    --name) name=${2:?}; shift 2 ;;
    --ip) ip=${2:?}; shift 2 ;;
    --managers) managers=${2:?}; shift 2 ;;
    --role) role=${2:?}; shift 2 ;;
    --repo) repo=${2:?}; shift 2 ;;
    --shared) shared=${2:?}; shift 2 ;;
    --artifact) artifact=${2:?}; shift 2 ;;
    --underlay-device) underlay=${2:?}; shift 2 ;;
    --root) root=${2:?}; shift 2 ;;
    --wait) wait=${2:?}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown option $1 (see --help)" ;;
  esac
done
[ -n "$name" ] && [ -n "$ip" ] && [ -n "$managers" ] || fail "--name, --ip and --managers are required (see --help)"
case $role in manager | worker) ;; *) fail "--role: \"$role\" is neither manager nor worker" ;; esac
shared=${shared:-$repo/vagrant/.cluster}
artifact=${artifact:-$repo/dist/release/trellis}
first=${managers%%,*}
manager_addresses=$(printf '%s' "$managers" | sed "s/\([^,]*\)/\1:$port/g")
tokens=/etc/trellis

# Trellis needs Node.js 20 or newer; Debian 12's own nodejs is 18, so NodeSource's 20.x.
ensure_node() {
  if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]; then return; fi
  if ! on_system; then
    skipped "installing Node.js 20 from NodeSource"
    return
  fi
  say "installing Node.js 20 from NodeSource"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ca-certificates curl gnupg >/dev/null
  install -d -m 0755 /etc/apt/keyrings
  curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o /etc/apt/keyrings/nodesource.gpg
  echo 'deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_20.x nodistro main' >/etc/apt/sources.list.d/nodesource.list
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null
}

# The interface that holds --ip: VXLAN traffic leaves through it.
underlay_device() {
  if [ -n "$underlay" ]; then printf '%s' "$underlay"; return; fi
  on_system || fail "--root: give --underlay-device (this machine's interfaces are not the VM's)"
  local device
  device=$(ip -o -4 addr show | awk -v ip="$ip" '{ split($4, a, "/"); if (a[1] == ip) { print $2; exit } }')
  [ -n "$device" ] || fail "no interface holds $ip: is the private network up?"
  printf '%s' "$device"
}

render() { bash "$repo/deploy/render-config.sh" "$repo/deploy/config/$1.yaml" "${@:2}"; }

# Copies a published token into /etc/trellis once it is there (the first manager may still be starting).
take_token() {
  local kind=$1 mode=$2 owner=$3 waited=0
  until [ -s "$shared/$kind-join-token" ]; do
    [ "$waited" -lt "$wait" ] || fail "no $kind join token in $shared after ${wait}s: is the first manager ($first) provisioned?"
    [ "$waited" -gt 0 ] || say "waiting for the $kind join token in $shared"
    sleep 2
    waited=$((waited + 2))
  done
  install -m "$mode" "$shared/$kind-join-token" "$root$tokens/$kind-join-token"
  if on_system; then chown "$owner" "$root$tokens/$kind-join-token"; fi
}

start() {
  if on_system; then
    # Type=notify: this returns once the daemon is up (the manager serving, the agent's session open).
    systemctl enable --now "$1"
    say "$1 running"
  else
    skipped "systemctl enable --now $1"
  fi
}

# What `trellis cluster join-token` prints, for the machines that join; and the CLI's certificate
# for root here, so that `sudo trellis --manager IP:4240 ...` works on this machine.
publish_tokens() {
  if ! on_system; then
    skipped "publishing the join tokens to $shared (trellis cluster join-token worker|manager)"
    return
  fi
  install -d -m 0700 /root/.trellis
  install -m 0600 /var/lib/trellis/admin/ca.crt /var/lib/trellis/admin/admin.crt /var/lib/trellis/admin/admin.key /root/.trellis/
  mkdir -p "$shared"
  local kind
  for kind in worker manager; do
    trellis --manager "$ip:$port" cluster join-token "$kind" --quiet >"$shared/.$kind-join-token.tmp"
    mv -f "$shared/.$kind-join-token.tmp" "$shared/$kind-join-token"
  done
  say "published the join tokens to $shared"
  say "try: vagrant ssh $name -c 'sudo trellis --manager $ip:$port node ls'"
}

ensure_node
configs=$(mktemp -d)
trap 'rm -rf "$configs"' EXIT
install_args=(--artifact "$artifact" --agent-config "$configs/agent.yaml")
if [ -n "$root" ]; then install_args+=(--root "$root"); fi
render agent manager="$manager_addresses" node="$name" advertise-addr="$ip" underlay-device="$(underlay_device)" \
  join-token-file="$tokens/worker-join-token" >"$configs/agent.yaml"
if [ "$role" = manager ]; then
  if [ "$ip" = "$first" ]; then
    render manager listen="$ip:$port" >"$configs/manager.yaml"
  else
    render manager listen="$ip:$port" join="$first:$port" join-token-file="$tokens/manager-join-token" >"$configs/manager.yaml"
  fi
  install_args+=(--manager-config "$configs/manager.yaml")
fi
bash "$repo/deploy/install.sh" "${install_args[@]}"

if [ "$role" = manager ]; then
  if [ "$ip" = "$first" ]; then
    start trellis-manager
    publish_tokens
  else
    take_token manager 0640 root:trellis
    start trellis-manager
  fi
fi
take_token worker 0600 root:root
start trellis-agent
