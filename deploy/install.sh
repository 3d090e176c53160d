#!/usr/bin/env bash
# Installs Trellis on this machine from its release artifact, or removes it again.
#
#   install.sh [--artifact PATH] [--prefix DIR] [--root DIR]
#              [--manager-config FILE] [--agent-config FILE]
#   install.sh --uninstall [--prefix DIR] [--root DIR] [--remove-kernel-objects]
#
# Installs: the artifact (checked against PATH.sha256) as PREFIX/lib/trellis/trellis, run by the
# system's node through PREFIX/bin/trellis; the packages the agent runs (iproute2, nftables,
# util-linux, procps); a `trellis` system user for the manager; /etc/trellis with manager.yaml and
# agent.yaml (an existing one is never overwritten); /var/lib/trellis (manager and admin: trellis's,
# agent: root's, each 0700); the units trellis-manager.service and trellis-agent.service. It
# enables and starts nothing: edit the config files, then `systemctl enable --now trellis-agent`.
# Run it again, or with a newer artifact, and the result is the same: data, certificates and
# config files stay, and running daemons restart on the new artifact.
#
# --uninstall stops and disables the units, removes every kernel object this node's agent made
# (`trellis agent --remove-all` with the node and advertise-addr of agent.yaml), then every file and
# directory above, and the user.
#
# --root DIR installs into DIR as if it were / (a chroot, an image, a test's throwaway tree):
# nothing is done to the running system, so packages, the user, ownership, systemctl and the
# kernel cleanup are skipped (each says so; --remove-kernel-objects runs the cleanup anyway).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
artifact="$here/../dist/release/trellis"
prefix=/usr/local
root=''
uninstall=0
remove_kernel_objects=0
declare -A given_config=()

say() { printf 'install.sh: %s\n' "$*"; }
fail() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}
usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
  case $1 in
    --artifact) artifact=${2:?--artifact: give the path of the release artifact}; shift 2 ;;
    --prefix) prefix=${2:?--prefix: give a directory, e.g. /usr/local}; shift 2 ;;
    --root) root=${2:?--root: give a directory}; shift 2 ;;
    --manager-config) given_config[manager]=${2:?--manager-config: give a file}; shift 2 ;;
    --agent-config) given_config[agent]=${2:?--agent-config: give a file}; shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    --remove-kernel-objects) remove_kernel_objects=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) fail "unknown option $1 (see --help)" ;;
  esac
done

case $prefix in /*) ;; *) fail "--prefix: \"$prefix\" is not an absolute path" ;; esac
prefix=${prefix%/}
if [ -n "$root" ]; then
  [ -d "$root" ] || fail "--root: $root is not a directory"
  root=$(cd "$root" && pwd)
  [ "$root" != / ] || root=''
fi
[ -n "$root" ] || [ "$(id -u)" -eq 0 ] || fail "run as root (or with --root DIR to install into a directory)"

# Paths as the installed system sees them; "$root$path" is where they are written.
libdir=$prefix/lib/trellis
wrapper=$prefix/bin/trellis
etc=/etc/trellis
state=/var/lib/trellis
unitdir=/etc/systemd/system
units=(trellis-manager.service trellis-agent.service)
# Directories install.sh made, so that --uninstall removes them and only them.
created_list=$libdir/created-dirs
# conntrack clears a drained backend's flows; ipvsadm drives IPVS where the kernel has it (--lb).
packages=(iproute2 nftables conntrack ipvsadm util-linux procps)
wrapper_mark='# Installed by Trellis deploy/install.sh'

on_system() { [ -z "$root" ]; }
skipped() { say "skipped (--root $root): $*"; }

# mkdir -p that records each directory it creates, outermost first.
make_dir() {
  local path=$1 mode=$2 owner=$3 parent
  if [ ! -d "$root$path" ]; then
    parent=$(dirname "$path")
    [ -d "$root$parent" ] || make_dir "$parent" 0755 root:root
    mkdir -m "$mode" "$root$path"
    created+=("$path")
  fi
  chmod "$mode" "$root$path"
  if on_system; then chown "$owner" "$root$path"; fi
}

# Copies src to dest (atomically, by rename) unless dest already has the same content; sets the mode.
put_file() {
  local src=$1 dest=$2 mode=$3 owner=$4
  if [ -f "$root$dest" ] && cmp -s "$src" "$root$dest"; then
    chmod "$mode" "$root$dest"
  else
    cp "$src" "$root$dest.tmp.$$"
    chmod "$mode" "$root$dest.tmp.$$"
    mv -f "$root$dest.tmp.$$" "$root$dest"
    changed=1
  fi
  if on_system; then chown "$owner" "$root$dest"; fi
}

check_artifact() {
  [ -f "$artifact" ] || fail "--artifact: $artifact does not exist (build it with \`npm run release\`, or give its path)"
  [ -f "$artifact.sha256" ] || fail "--artifact: no checksum $artifact.sha256 beside it (\`npm run release\` writes one); refusing an artifact that cannot be checked"
  local want got
  want=$(awk '{ print $1; exit }' "$artifact.sha256")
  got=$(sha256sum "$artifact" | awk '{ print $1 }')
  [ "$want" = "$got" ] || fail "--artifact: $artifact has sha256 $got, but $artifact.sha256 says $want; refusing it (a partial download or a changed file)"
}

# Sets node_bin: the node the wrapper runs. Trellis needs 20 or newer.
find_node() {
  node_bin=$(command -v node || true)
  if [ -z "$node_bin" ]; then
    on_system && fail "node is not installed: Trellis runs on Node.js 20 or newer (Debian 12's nodejs is 18: use NodeSource's node_20.x)"
    node_bin=/usr/bin/node
    skipped "no node here; the wrapper runs $node_bin"
    return
  fi
  local major
  major=$("$node_bin" -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 20 ]; then
    on_system && fail "$node_bin is Node.js $major; Trellis needs 20 or newer (NodeSource's node_20.x)"
    skipped "$node_bin is Node.js $major here; the installed system needs 20 or newer"
  fi
}

install_packages() {
  if ! on_system; then
    skipped "apt-get install ${packages[*]}"
    return
  fi
  local missing=() package
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  if [ ${#missing[@]} -eq 0 ]; then return; fi
  command -v apt-get >/dev/null || fail "install ${missing[*]} (the agent runs ip, bridge, nft, conntrack, ipvsadm, nsenter and sysctl); this is not a Debian system, so install.sh cannot"
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

make_user() {
  if ! on_system; then
    skipped "useradd --system trellis (and chown of its directories)"
    return
  fi
  getent passwd trellis >/dev/null && return
  say "adding the system user trellis (the manager runs as it)"
  useradd --system --user-group --home-dir "$state" --no-create-home --shell /usr/sbin/nologin trellis
}

install_config() {
  local role=$1 source=${given_config[$1]:-} target=$etc/$1.yaml rendered
  if [ -z "$source" ]; then
    rendered=$(mktemp)
    "$here/render-config.sh" "$here/config/$role.yaml" >"$rendered"
    source=$rendered
  fi
  [ -f "$source" ] || fail "--$role-config: $source does not exist"
  if [ ! -f "$root$target" ]; then
    put_file "$source" "$target" 0640 root:trellis
    say "wrote $target"
  elif ! cmp -s "$source" "$root$target"; then
    if [ -n "${given_config[$role]:-}" ]; then
      # Never overwritten: it may hold an admin's edits. The new one goes beside it, as dpkg does.
      put_file "$source" "$target.new" 0640 root:trellis
      say "kept $target, which differs from $source: the new one is $target.new"
    fi
  fi
  if [ -n "${rendered:-}" ]; then rm -f "$rendered"; fi
}

do_install() {
  check_artifact
  local node_bin changed=0 created=() unit
  find_node
  install_packages
  make_user

  make_dir "$etc" 0755 root:root
  make_dir "$state" 0755 root:root
  make_dir "$state/manager" 0700 trellis:trellis
  make_dir "$state/admin" 0700 trellis:trellis
  make_dir "$state/agent" 0700 root:root
  make_dir "$state/agent/tls" 0700 root:root
  make_dir "$libdir" 0755 root:root
  make_dir "$(dirname "$wrapper")" 0755 root:root
  make_dir "$unitdir" 0755 root:root

  local version_before=''
  if [ -f "$root$libdir/trellis.sha256" ]; then version_before=$(awk '{ print $1 }' "$root$libdir/trellis.sha256"); fi
  put_file "$artifact" "$libdir/trellis" 0755 root:root
  put_file "$artifact.sha256" "$libdir/trellis.sha256" 0644 root:root
  local temp
  temp=$(mktemp -d)
  printf '#!/bin/sh\n%s: the release artifact, run by the system'"'"'s node.\nexec %s %s "$@"\n' \
    "$wrapper_mark" "$node_bin" "$libdir/trellis" >"$temp/wrapper"
  put_file "$temp/wrapper" "$wrapper" 0755 root:root
  for unit in "${units[@]}"; do
    sed "s#/usr/local/bin/trellis#$wrapper#" "$here/$unit" >"$temp/$unit"
    put_file "$temp/$unit" "$unitdir/$unit" 0644 root:root
  done
  rm -rf "$temp"
  install_config manager
  install_config agent

  # Kept across runs (an upgrade adds to what the first install made), one path a line.
  touch "$root$created_list"
  if [ ${#created[@]} -gt 0 ]; then printf '%s\n' "${created[@]}" >>"$root$created_list"; fi
  chmod 0644 "$root$created_list"

  if on_system; then
    systemctl daemon-reload
    # An upgrade: daemons that run go on with the new artifact; stopped ones stay stopped.
    if [ "$changed" = 1 ]; then systemctl try-restart "${units[@]}"; fi
  else
    skipped "systemctl daemon-reload; systemctl try-restart ${units[*]}"
  fi
  if [ -n "$version_before" ] && [ "$version_before" != "$(awk '{ print $1 }' "$artifact.sha256")" ]; then
    say "upgraded $libdir/trellis (sha256 $version_before -> $(awk '{ print $1 }' "$artifact.sha256")); data, certificates and config kept"
  fi
  say "installed in ${root:-/}: $wrapper, $libdir, $etc, $state, $unitdir/trellis-{manager,agent}.service"
  say "next: edit $etc/agent.yaml (and $etc/manager.yaml on a manager), then systemctl enable --now trellis-manager (managers) and trellis-agent"
}

# A key of a flat YAML file (key: value), unquoted; empty when absent or commented out.
config_value() {
  local file=$1 key=$2
  [ -f "$file" ] || return 0
  sed -n "s/^$key:[[:space:]]*//p" "$file" | head -n 1 | sed 's/[[:space:]]#.*$//; s/[[:space:]]*$//; s/^"\(.*\)"$/\1/; s/^'"'"'\(.*\)'"'"'$/\1/'
}

remove_kernel_objects_of_agent() {
  local config=$root$etc/agent.yaml address state_dir node name
  name=$(config_value "$config" node)
  address=$(config_value "$config" advertise-addr)
  state_dir=$(config_value "$config" state-dir)
  state_dir=${state_dir:-$state/agent}
  if [ ! -f "$root$libdir/trellis" ]; then
    say "no artifact at $libdir/trellis: no agent of this install ever ran, nothing of it in the kernel"
    return
  fi
  if [ -z "$address" ] || [ -z "$name" ]; then
    say "$etc/agent.yaml gives no node and advertise-addr: this node's agent never ran, nothing of it in the kernel"
    return
  fi
  local command=(agent --remove-all --node "$name" --advertise-addr "$address" --state-dir "$root$state_dir")
  if ! on_system && [ "$remove_kernel_objects" = 0 ]; then
    skipped "removing the agent's kernel objects: trellis ${command[*]} (--remove-kernel-objects to run it)"
    return
  fi
  node=$(command -v node) || fail "node is not installed: cannot run trellis agent --remove-all; nothing was removed"
  say "removing the kernel objects of the agent advertising $address"
  "$node" "$root$libdir/trellis" "${command[@]}" ||
    fail "trellis agent --remove-all failed: kernel objects may be left; nothing else was removed, so run --uninstall again"
}

do_uninstall() {
  local unit path
  if on_system; then
    systemctl disable --now "${units[@]}" 2>/dev/null || true
  else
    skipped "systemctl disable --now ${units[*]}"
  fi
  remove_kernel_objects_of_agent
  for unit in "${units[@]}"; do rm -f "$root$unitdir/$unit"; done
  if on_system; then
    systemctl daemon-reload
    systemctl reset-failed "${units[@]}" 2>/dev/null || true
  else
    skipped "systemctl daemon-reload"
  fi
  local created=()
  if [ -f "$root$created_list" ]; then mapfile -t created <"$root$created_list"; fi
  # Only our own wrapper: a trellis of something else at that path is not ours to remove.
  if [ -f "$root$wrapper" ] && grep -qF "$wrapper_mark" "$root$wrapper"; then rm -f "$root$wrapper"; fi
  rm -rf -- "$root$libdir" "$root$etc" "$root$state"
  # Deepest first; a directory something else has put files in since stays.
  for ((i = ${#created[@]} - 1; i >= 0; i--)); do
    path=${created[i]}
    if [ -d "$root$path" ]; then rmdir "$root$path" 2>/dev/null || say "kept $path: it holds files install.sh did not put there"; fi
  done
  if on_system; then
    if getent passwd trellis >/dev/null; then userdel trellis; fi
  else
    skipped "userdel trellis"
  fi
  say "removed Trellis from ${root:-/}"
}

if [ "$uninstall" = 1 ]; then do_uninstall; else do_install; fi
