## Stops Apache, when it runs, and waits (60 s at most) until its parent is
## gone: `apache2ctl start` says "already running" and exits 0 while the pidfile
## names a live parent, so a start after a stop that is not done yet starts
## nothing, and Apache is down once that parent exits. Needs apache-reload.sh's
## functions, inlined before it.
## Inlined into the Apache ports step (lib/concerns/apache/index.ts); these ## lines are not.
apache_stop() {
  p=$(apache_pid)
  [ -n "$p" ] || return 0
  apache2ctl stop
  i=0
  while kill -0 "$p" 2>/dev/null; do
    [ $((i += 1)) -le 600 ] || { echo "Apache (pid $p) did not stop in 60 s" >&2; return 1; }
    sleep 0.1
  done
}
