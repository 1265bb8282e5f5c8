## Shell functions that load Apache's installed files and return only once they
## are live. `apache2ctl graceful` returns as soon as it has sent SIGUSR1, so
## alone it proves nothing: a parent that is still starting has no handler for
## that signal yet and dies of it, and a parent that cannot load the new files
## (a certificate that does not match its key passes `apache2ctl -t`) exits
## while the step reports success. `apache_reload` signals only a parent that
## handles SIGUSR1 (bit 9 of `SigCgt` in /proc), starts Apache when none runs,
## and then waits until the parent has written its pidfile anew (Apache does so
## once every file, certificates included, is loaded) and handles SIGUSR1
## again. A parent that exits meanwhile fails the step, which puts the
## previous files back and reloads them.
## Inlined into the Apache steps (lib/concerns/apache/index.ts); these ## lines are not.
# shellcheck source=/dev/null
pidfile=$(set +u; . /etc/apache2/envvars; echo "$APACHE_PID_FILE")
[ -n "$pidfile" ] || pidfile=/var/run/apache2/apache2.pid
apache_pid() {
  p=$(cat "$pidfile" 2>/dev/null) || p=
  case $p in "" | *[!0-9]*) ;; *) if kill -0 "$p" 2>/dev/null; then echo "$p"; fi ;; esac
}
# Whether process $1 handles SIGUSR1 (bit 9 of SigCgt): the graceful signal kills an Apache that is still starting.
handles_usr1() {
  m=$(sed -n 's/^SigCgt:[[:space:]]*[0-9a-f]*\([0-9a-f]\{3\}\)$/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$m" ] && [ $((0x$m >> 9 & 1)) = 1 ]
}
# A graceful restart, or a start when Apache is not running; returns once its parent has loaded the files
# (it writes its pidfile anew) and handles SIGUSR1 again.
apache_reload() {
  stamp=$(stat -c "%i %y" "$pidfile" 2>/dev/null) || stamp=none
  p=$(apache_pid)
  i=0
  while [ -n "$p" ] && ! handles_usr1 "$p"; do
    kill -0 "$p" 2>/dev/null || p=
    [ $((i += 1)) -le 600 ] || { echo "Apache (pid $p) did not finish starting in 60 s" >&2; return 1; }
    sleep 0.1
  done
  if [ -n "$p" ]; then apache2ctl graceful; else apache2ctl start; fi
  i=0
  until q=$(apache_pid) && [ -n "$q" ] && [ "$(stat -c "%i %y" "$pidfile" 2>/dev/null)" != "$stamp" ] && handles_usr1 "$q"; do
    if [ -n "$p" ] && ! kill -0 "$p" 2>/dev/null; then echo "Apache exited loading the new files: see its error log" >&2; return 1; fi
    [ $((i += 1)) -le 600 ] || { echo "Apache did not load the new files in 60 s: see its error log" >&2; return 1; }
    sleep 0.1
  done
}
