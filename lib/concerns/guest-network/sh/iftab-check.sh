# shellcheck shell=sh
# iftab_check: /etc/iftab names interfaces only where a udev rule runs ifrename when they appear
# (the ifrename package installs 19-ifrename.rules). Without one the file pins nothing, and the next
# boot names the guest's interfaces otherwise: refused before anything is written.
iftab_check() {
  for f in /etc/udev/rules.d/*.rules /run/udev/rules.d/*.rules /lib/udev/rules.d/*.rules /usr/lib/udev/rules.d/*.rules; do
    if [ -e "$f" ] && grep -q '^[^#]*ifrename' "$f"; then return 0; fi
  done
  echo "no udev rule runs ifrename (apt-get install ifrename): /etc/iftab would name no interface at the next boot; or give the guest interfaceNaming \"udev\" or \"systemd-link\"" >&2
  return 1
}
