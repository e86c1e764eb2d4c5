#!/bin/sh
# Starts the service named by the container command (`api` or `dispatcher`) with the
# Node.js flags of its <service>.node-flags file in the application directory.
set -eu

app_dir="${BULLPEN_APP_DIR:-/app}"
service="${1:-}"
case "$service" in
  api | dispatcher)
    shift
    # One flag per line; comment lines and carriage returns are dropped. sed fails on a
    # missing file, which stops the script (set -e) instead of starting without the flags.
    node_flags=$(sed -e 's/\r$//' -e '/^[[:space:]]*#/d' "$app_dir/$service.node-flags")
    # Word splitting makes each flag one argument; set -f keeps a `*` or `?` in a flag from
    # matching file names.
    set -f
    # shellcheck disable=SC2086
    exec node --enable-source-maps $node_flags "$app_dir/$service.js" "$@"
    ;;
  *)
    echo "Unknown command \"$service\": run the image with \"api\" or \"dispatcher\"." >&2
    exit 64
    ;;
esac
