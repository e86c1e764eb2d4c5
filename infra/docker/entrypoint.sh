#!/bin/sh
# Starts the service named by the container command: `api` or `dispatcher`.
set -eu

service="${1:-}"
case "$service" in
  api | dispatcher)
    shift
    exec node --enable-source-maps "/app/$service.js" "$@"
    ;;
  *)
    echo "Unknown command \"$service\": run the image with \"api\" or \"dispatcher\"." >&2
    exit 64
    ;;
esac
