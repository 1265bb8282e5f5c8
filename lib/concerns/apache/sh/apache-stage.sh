## Functions for the validate snippets of the Apache steps: the live tree is
## never touched; the staged files are checked by `apache2ctl -t` in a copy of
## the whole of /etc/apache2. Inlined before the calls (lib/concerns/apache/index.ts).
# shellcheck shell=sh
# A copy of /etc/apache2 in a scratch directory, $stage/apache2, removed when the snippet ends.
apache_stage() {
  command -v apache2ctl >/dev/null 2>&1 || { echo "apache2ctl not found: install apache2" >&2; exit 1; }
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  cp -a /etc/apache2 "$stage/apache2"
}
# FILE TARGET: the copy keeps links as links (a site file may be one into a repository): replace, never write through them.
put() { rm -f "$2"; cp "$1" "$2"; }
# mod_ssl (and what it needs) enabled in the copy.
stage_tls() {
  for m in socache_shmcb ssl; do
    for e in load conf; do
      if [ -e "$stage/apache2/mods-available/$m.$e" ]; then ln -sf "../mods-available/$m.$e" "$stage/apache2/mods-enabled/$m.$e"; fi
    done
  done
}
# Apache's own check of the whole copy.
apache_test_stage() { APACHE_CONFDIR="$stage/apache2" apache2ctl -t; }
