#!/usr/bin/env bash
# run-in-uml.sh — runs one command inside a user-mode-linux kernel, for tests of the IPVS engine
# on a host whose kernel has no IPVS (or cannot load modules).
#
# Usage: scripts/uml/run-in-uml.sh [--mem 1G] [--timeout SECS] [--timing] [--verbose] -- CMD [ARGS...]
#
# Debian's user-mode-linux package ships a Linux kernel that runs as a process, with IPVS as
# modules. This boots it with the host's filesystem as its root (hostfs, read-write: files the
# command writes are on the host), loads ip_vs, veth and bridge, and runs CMD as root in the
# current directory with PATH, HOME and a few more variables carried in, plus RUN_IN_UML=1.
# CMD's stdout and stderr come out on ours; the guest's console goes to a log shown on failure.
# Inside: one CPU, only `lo`, no network to the outside; /proc, /sys, /dev and /run are the
# guest's own (so `ip netns add` does not touch the host's /run/netns). Not there: nftables
# outside the bridge family and the conntrack CLI.
#
# Exit status: CMD's; 124 after --timeout; 125 when the guest could not run CMD (missing
# packages, a boot failure: the end of the guest's console is printed).
# Needs (scripts/setup.sh --test installs them): user-mode-linux kmod ipvsadm iproute2, and a C
# compiler on CPUs with AMX (see xstate-shim.c).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { echo "run-in-uml: $*" >&2; exit 125; }

MEM=1G TIMEOUT= TIMING=0 VERBOSE=0
while (($#)); do
  case $1 in
    --mem) MEM=${2:?}; shift 2 ;;
    --timeout) TIMEOUT=${2:?}; shift 2 ;;
    --timing) TIMING=1; shift ;;
    --verbose) VERBOSE=1; shift ;;
    --) shift; break ;;
    *) die "unknown option $1 (usage: run-in-uml.sh [--mem 1G] [--timeout SECS] [--timing] [--verbose] -- CMD ...)" ;;
  esac
done
(($#)) || die "no command (usage: run-in-uml.sh [options] -- CMD [ARGS...])"
[[ $MEM =~ ^[0-9]+[KMG]?$ ]] || die "--mem $MEM: want a size such as 512M or 1G"
[[ -z $TIMEOUT || $TIMEOUT =~ ^[0-9]+$ ]] || die "--timeout $TIMEOUT: want whole seconds"

KERNEL=/usr/bin/linux.uml
MODROOT=/usr/lib/uml/modules
for need in "$KERNEL" /usr/sbin/ipvsadm /sbin/modprobe; do
  [[ -x $need ]] || die "$need is missing: install the packages user-mode-linux kmod ipvsadm iproute2 (bash scripts/setup.sh --test does)"
done
command -v perl >/dev/null || die "perl is missing (the guest's set-up runs in perl)"
KVER=$("$KERNEL" --version 2>/dev/null | tail -n 1)
[[ -f $MODROOT/$KVER/modules.dep ]] || die "no modules for UML kernel '$KVER' under $MODROOT"

case $(pwd -P)/ in /proc/*|/sys/*|/dev/*|/run/*) die "run from a folder the guest can see (not under /proc, /sys, /dev or /run)" ;; esac
W=$(mktemp -d /tmp/trellis-uml.XXXXXX) || die "cannot create a folder in /tmp"
UML_PID= WATCH_PID=
cleanup() {
  [[ -n $WATCH_PID ]] && kill "$WATCH_PID" 2>/dev/null
  if [[ -n $UML_PID ]]; then kill -KILL -- "-$UML_PID" 2>/dev/null; wait "$UML_PID" 2>/dev/null; fi
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Where the host's XSAVE area is larger than this UML kernel's buffer (CPUs with AMX), every
# process in the guest dies at once; the shim widens UML's ptrace writes (see xstate-shim.c).
# It changes nothing where the sizes agree, so it is used wherever it can be built.
PRELOAD=
if command -v cc >/dev/null; then
  cc -O2 -shared -fPIC -o "$W/xstate-shim.so" "$HERE/xstate-shim.c" -ldl 2>"$W/cc.log" || { cat "$W/cc.log" >&2; die "could not compile xstate-shim.c"; }
  PRELOAD=$W/xstate-shim.so
elif grep -qw amx_tile /proc/cpuinfo; then
  die "this CPU has AMX: UML needs scripts/uml/xstate-shim.c compiled, and there is no C compiler (apt-get install gcc libc6-dev)"
fi

# Modules to load at boot, dependencies first; the kernel's own autoload (an ipvsadm scheduler
# other than rr) goes through the modprobe wrapper.
mkdir -p "$W/mods/lib" && ln -s "$MODROOT" "$W/mods/lib/modules"
modprobe -S "$KVER" -d "$W/mods" -a --show-depends ip_vs ip_vs_rr veth bridge 2>/dev/null |
  awk '$1 == "insmod" && !seen[$2]++ { print $2 }' >"$W/modules"
printf '#!/bin/sh\nexec /sbin/modprobe -d %s "$@"\n' "$W/mods" >"$W/modprobe" && chmod +x "$W/modprobe"

# What the guest's init sources before it runs CMD.
{
  for v in PATH HOME USER LANG LC_ALL TZ CI NODE_ENV NODE_OPTIONS NODE_PATH FORCE_COLOR NO_COLOR; do
    [[ -n ${!v+x} ]] && printf 'export %s=%q\n' "$v" "${!v}"
  done
  printf 'export RUN_IN_UML=1 PATH="$PATH:/usr/sbin:/sbin"\n'
  printf 'cd %q || exit 125\n' "$(pwd -P)"
  printf 'set --'; printf ' %q' "$@"; printf '\n'
} >"$W/cmd"

# One perl process mounts, loads the modules and raises lo: each exec costs under UML.
cat >"$W/setup.pl" <<'EOF'
use strict; use warnings;
my ($w) = @ARGV;
sub mount_fs { my ($type, $dir, $data) = @_; mkdir $dir;
  syscall(165, $type, $dir, $type, 0, $data) == 0 or warn "run-in-uml: mount $dir: $!\n"; }
mount_fs("proc", "/proc", ""); mount_fs("sysfs", "/sys", "");
mount_fs("tmpfs", "/run", "mode=755"); mount_fs("tmpfs", "/dev/shm", "mode=1777");
mount_fs("devpts", "/dev/pts", "gid=5,mode=620,ptmxmode=666");
symlink("/proc/self/fd", "/dev/fd") unless -e "/dev/fd";
sub write_file { my ($f, $s) = @_; open(my $h, ">", $f) or return; print $h $s; close $h; }
write_file("/proc/sys/kernel/modprobe", "$w/modprobe");
open(my $list, "<", "$w/modules") or die "run-in-uml: $w/modules: $!\n";
my $no_params = "";   # a variable: perl's syscall refuses a literal, as the kernel could write to it
while (my $ko = <$list>) { chomp $ko;
  open(my $f, "<", $ko) or next;
  syscall(313, fileno($f), $no_params, 0) == 0 or $!{EEXIST} or warn "run-in-uml: load $ko: $!\n"; }   # finit_module
socket(my $s, 2, 2, 0) or die;
my $req = pack("a16 x24", "lo"); ioctl($s, 0x8913, $req);                                    # SIOCGIFFLAGS
ioctl($s, 0x8914, pack("a16 s x22", "lo", unpack("x16 s", $req) | 1)) or warn "run-in-uml: lo up: $!\n";
EOF

# The guest's PID 1: run CMD with its output in files the host follows, save the status, power off.
{
  printf '#!/bin/bash\nW=%q\n' "$W"
  cat <<'EOF'
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
exec </dev/null
echo "$EPOCHREALTIME" >"$W/t-init"
perl "$W/setup.pl" "$W"
echo "$EPOCHREALTIME" >"$W/t-cmd"
( . "$W/cmd" && "$@" ) >"$W/stdout" 2>"$W/stderr"
echo $? >"$W/rc.tmp"
echo "$EPOCHREALTIME" >"$W/t-end"
sync; mv "$W/rc.tmp" "$W/rc"
echo o >/proc/sysrq-trigger
sleep 60
EOF
} >"$W/init"
chmod +x "$W/init"
: >"$W/stdout"; : >"$W/stderr"

# Guest memory lives in a file under TMPDIR: /dev/shm keeps it in RAM, when it has room for it
# (a guest whose memory file runs out of room dies of SIGBUS).
bytes() { local n=${1%[KMG]}; case $1 in *K) echo $((n << 10)) ;; *M) echo $((n << 20)) ;; *G) echo $((n << 30)) ;; *) echo "$n" ;; esac; }
MEMDIR=/dev/shm
shm_free=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 * 1024 }')
[[ $shm_free =~ ^[0-9]+$ ]] && ((shm_free > $(bytes "$MEM") + (64 << 20))) || MEMDIR=/tmp

T0=$EPOCHREALTIME
(
  cd "$W" || exit 1
  export TMPDIR=$MEMDIR
  [[ -n $PRELOAD ]] && export LD_PRELOAD=$PRELOAD
  exec setsid "$KERNEL" mem="$MEM" root=/dev/root rootfstype=hostfs rootflags=/ rw init="$W/init" \
    umid="trellis-$$" uml_dir="$W/uml" con=null ssl=null con0=null,fd:5 quiet \
    </dev/null >"$W/host.log" 2>&1 5>"$W/console.log"
) &
UML_PID=$!
tail -c +1 -s 0.2 --pid="$UML_PID" -f "$W/stdout" &
OUT_PID=$!
tail -c +1 -s 0.2 --pid="$UML_PID" -f "$W/stderr" >&2 &
ERR_PID=$!
((VERBOSE)) && { tail -c +1 -s 0.2 --pid="$UML_PID" -f "$W/console.log" | sed 's/^/[uml] /' >&2 & }
if [[ -n $TIMEOUT ]]; then
  (
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    sleep "$TIMEOUT" & nap=$!
    wait "$nap" || exit 0
    : >"$W/timedout"; kill -KILL -- "-$UML_PID" 2>/dev/null
  ) </dev/null >/dev/null 2>&1 &
  WATCH_PID=$!
fi
# UML sometimes aborts while powering off, after the status is saved: its own status is ignored.
wait "$UML_PID" 2>/dev/null
UML_PID=
T1=$EPOCHREALTIME
wait "$OUT_PID" "$ERR_PID"

if ((TIMING)) && [[ -s $W/t-cmd ]]; then
  awk -v a="$T0" -v b="$(cat "$W/t-init")" -v c="$(cat "$W/t-cmd")" -v d="$(cat "$W/t-end" 2>/dev/null || echo "$T1")" -v e="$T1" \
    'BEGIN { printf "run-in-uml: boot %.1fs, set-up %.1fs, command %.1fs, total %.1fs\n", b - a, c - b, d - c, e - a }' >&2
fi
if [[ -f $W/timedout ]]; then echo "run-in-uml: timed out after ${TIMEOUT}s" >&2; exit 124; fi
if [[ -s $W/rc ]]; then exit "$(cat "$W/rc")"; fi
echo "run-in-uml: the guest stopped without running the command to its end; its console ends:" >&2
grep -v -e '^SELinux' -e 'mmapper_init' -e 'ubd device' "$W/console.log" | tail -n 20 >&2
tail -n 5 "$W/host.log" >&2
exit 125
