#!/usr/bin/env bash
# Prints a config template of deploy/config/ with its {{key}} placeholders filled:
#   render-config.sh deploy/config/agent.yaml node=w1 advertise-addr=192.168.56.21 ...
# A line whose placeholders are not all given is printed commented out (`# node: <node>`), so
# the flag's default applies and the file still shows the setting. A key the template sets to a
# fixed value (`state-dir: /var/lib/trellis/agent`) may be given too, and replaces that value (a
# test's lab keeps its data in its own directory). Values are written as YAML double-quoted
# strings: an address, a path or a list of them never turns into a number.
set -euo pipefail

if [ $# -lt 1 ] || [ ! -f "$1" ]; then
  echo "usage: render-config.sh TEMPLATE [KEY=VALUE]..." >&2
  exit 2
fi
template=$1
shift
declare -A values=()
for pair in "$@"; do
  case $pair in
    *=*) ;;
    *) echo "render-config.sh: \"$pair\" is not KEY=VALUE" >&2; exit 2 ;;
  esac
  key=${pair%%=*}
  if ! grep -q "{{$key}}" "$template" && ! grep -q "^$key:" "$template"; then
    echo "render-config.sh: $template has no setting $key (its keys: $(grep -o '^[a-z0-9-]*:' "$template" | tr -d ':' | tr '\n' ' '))" >&2
    exit 2
  fi
  values[$key]=${pair#*=}
done

yaml_string() {
  local text=${1//\\/\\\\}
  printf '"%s"' "${text//\"/\\\"}"
}

while IFS= read -r line || [ -n "$line" ]; do
  out='' missing=0
  if [[ $line =~ ^([a-z0-9-]+):[[:space:]] && $line != *'{{'* && -n "${values[${BASH_REMATCH[1]}]:-}" ]]; then
    printf '%s: %s\n' "${BASH_REMATCH[1]}" "$(yaml_string "${values[${BASH_REMATCH[1]}]}")"
    continue
  fi
  # Left to right, so a value is never searched for placeholders itself.
  while [[ $line =~ ^(.*)\{\{([a-z0-9-]+)\}\}(.*)$ ]]; do
    name=${BASH_REMATCH[2]}
    if [ -n "${values[$name]:-}" ]; then
      out="$(yaml_string "${values[$name]}")${BASH_REMATCH[3]}$out"
    else
      missing=1
      out="<$name>${BASH_REMATCH[3]}$out"
    fi
    line=${BASH_REMATCH[1]}
  done
  out="$line$out"
  if [ "$missing" = 1 ]; then out="# $out"; fi
  printf '%s\n' "$out"
done <"$template"
