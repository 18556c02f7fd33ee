#!/usr/bin/env bash
# Render nginx's upstream servers for one chain from nodesentry's ranking; reload nginx only
# when the servers changed. Run it every few seconds (a systemd timer, a loop).
# Whatever goes wrong (nodesentry unreachable, an error answer, no nodes, nginx rejecting the
# result), the running file stays as it was and the script exits non-zero.
set -euo pipefail
NODESENTRY_URL=${NODESENTRY_URL:-http://nodesentry:8080}
CHAIN=${CHAIN:-bsc}
UPSTREAM_FILE=${UPSTREAM_FILE:-/etc/nginx/upstreams/$CHAIN.conf}
# Not NGINX: nginx itself reads that variable (inherited sockets) and complains.
NGINX_CMD=${NGINX_CMD:-nginx}   # e.g. "nginx -c /etc/nginx/nginx.conf"

new=$(mktemp "$UPSTREAM_FILE.new.XXXXXX")
trap 'rm -f "$new"' EXIT
# Sorted: a change in the ranking's order alone is not a change of the servers.
curl -fsS --max-time 5 ${NODESENTRY_API_KEY:+-H "X-API-Key: $NODESENTRY_API_KEY"} \
    "$NODESENTRY_URL/v1/chains/$CHAIN/ranking" |
  jq -r '.nodes[] | "server \(.url | sub("^https?://"; "") | sub("/.*$"; ""))"
    + (if .usable then (if .state == "healthy" then " weight=10" else " weight=1" end) else " down" end)
    + (if .tier > 0 then " backup" else "" end) + " max_fails=3 fail_timeout=10s;"' |
  sort > "$new"
if [ ! -s "$new" ]; then
  echo "nodesentry lists no nodes for $CHAIN: $UPSTREAM_FILE left as it is" >&2
  exit 1
fi
cmp -s "$new" "$UPSTREAM_FILE" && exit 0
chmod 644 "$new"
[ -f "$UPSTREAM_FILE" ] && cp -p "$UPSTREAM_FILE" "$UPSTREAM_FILE.prev"
mv "$new" "$UPSTREAM_FILE"
if ! $NGINX_CMD -t -q; then
  echo "nginx rejects the new $UPSTREAM_FILE: the previous one is back" >&2
  if [ -f "$UPSTREAM_FILE.prev" ]; then mv "$UPSTREAM_FILE.prev" "$UPSTREAM_FILE"; else rm -f "$UPSTREAM_FILE"; fi
  exit 1
fi
$NGINX_CMD -s reload
