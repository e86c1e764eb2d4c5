#!/bin/sh
# Starts the service named by the container command (`api` or `dispatcher`) with the
# Node.js flags of its <service>.node-flags file in the application directory.
set -eu

app_dir="${BULLPEN_APP_DIR:-/app}"
service="${1:-}"
case "$service" in
  api | dispatcher)
    shift
    # The file has one flag per line and comment lines. No flag contains a space, so word
    # splitting turns each line into one argument.
    node_flags=$(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$app_dir/$service.node-flags" || true)
    # shellcheck disable=SC2086 # each flag must become its own argument
    exec node --enable-source-maps $node_flags "$app_dir/$service.js" "$@"
    ;;
  *)
    echo "Unknown command \"$service\": run the image with \"api\" or \"dispatcher\"." >&2
    exit 64
    ;;
esac
