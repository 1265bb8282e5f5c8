# shellcheck shell=sh
# Probes, from the dom0 and through the vif routes, every vhost socket the
# deploy installed: the Host header (and SNI) set to the vhost's name, HTTPS
# certificates not checked. A socket fails on a timeout (the reply never comes
# back: the black hole, a firewall, a guest down), a refused or unreachable
# connection, or the wrong page (an unexpected status, or a page without the
# expected text).
# Set before: TIMEOUT (seconds), VHOSTS: one socket a line,
#   "<site> <scheme> <address> <port> <server name> <path> <status or -> <text base64 or ->".
# shellcheck disable=SC2154

# oneline FILE: its lines joined by spaces.
oneline() { tr '\n' ' ' < "$1" | sed 's/ *$//'; }

# probe OUT SITE SCHEME ADDRESS PORT SERVER PATH STATUS TEXT: one line in OUT, "ok ..." or "FAIL ...".
probe() {
  what="vhost $2 ($6) on $4:$5"
  attempt=1
  while :; do
    rc=0
    curl -sS -k -o "$1.body" -D "$1.head" --connect-timeout "$TIMEOUT" --max-time $((TIMEOUT * 2)) \
      --resolve "$6:$5:$4" "$3://$6:$5$7" 2>"$1.err" || rc=$?
    # Proxy ARP answers after a random delay: a timeout is asked again once.
    if [ "$rc" = 28 ] && [ "$attempt" = 1 ]; then attempt=2; continue; fi
    break
  done
  case "$rc" in
    0) ;;
    28) echo "FAIL $what: timeout: no answer within $TIMEOUT s, asked twice (the reply does not come back: a guest's reply leaving by another vif, a firewall, or the guest down)" > "$1"; return 0 ;;
    7) echo "FAIL $what: refused or unreachable: $(oneline "$1.err")" > "$1"; return 0 ;;
    *) echo "FAIL $what: curl exit $rc: $(oneline "$1.err")" > "$1"; return 0 ;;
  esac
  # The status line of the answer: "HTTP/1.1 200 OK".
  code=$(awk 'NR == 1 { print $2 }' "$1.head")
  if [ "$8" != - ] && [ "$code" != "$8" ]; then
    echo "FAIL $what: wrong page: $7 answered HTTP $code, expected $8" > "$1"; return 0
  fi
  if [ "$8" = - ] && [ "$code" -ge 500 ]; then
    echo "FAIL $what: wrong page: $7 answered HTTP $code" > "$1"; return 0
  fi
  if [ "$9" != - ]; then
    text=$(echo "$9" | base64 -d)
    if ! grep -qF -- "$text" "$1.body"; then
      echo "FAIL $what: wrong page: $7 (HTTP $code) does not contain \"$text\"" > "$1"; return 0
    fi
  fi
  echo "ok   $what: HTTP $code" > "$1"
}

verify_vhosts() {
  if [ -z "$VHOSTS" ]; then echo "no vhost to verify"; return 0; fi
  command -v curl >/dev/null 2>&1 || { echo "curl is not installed on the dom0: install it, or turn this check off (context cdktf-xen:verify false)" >&2; return 1; }
  out=$(mktemp -d)
  n=0
  while read -r site scheme address port server path status text; do
    n=$((n + 1))
    probe "$out/$n" "$site" "$scheme" "$address" "$port" "$server" "$path" "$status" "$text" &
  done <<LIST
$VHOSTS
LIST
  wait
  failed=0
  i=0
  while [ "$i" -lt "$n" ]; do
    i=$((i + 1))
    cat "$out/$i"
    if grep -q '^FAIL' "$out/$i"; then failed=$((failed + 1)); fi
  done
  rm -rf "$out"
  if [ "$failed" -gt 0 ]; then
    echo "$failed of $n vhost sockets do not answer from the dom0" >&2
    return 1
  fi
  echo "every vhost socket answers from the dom0 ($n)"
}
