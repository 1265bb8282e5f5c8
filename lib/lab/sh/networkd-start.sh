# shellcheck shell=sh
## systemd-networkd in a lab host, as a guest's boot starts it: with /sys read-only networkd
## takes links as initialized without udev (it does so in containers); a system bus lets
## networkctl reach it. Run inside the host; the processes live in its namespaces.
set -eu
mount -o remount,ro /sys
mkdir -p /run/dbus /run/systemd/netif
chown systemd-network:systemd-network /run/systemd/netif
dbus-daemon --system --fork
# A session of its own, as a service has: the deploy's SSH session that made the guest ends.
setsid /lib/systemd/systemd-networkd < /dev/null > /run/systemd-networkd.log 2>&1 &
# networkctl reaches networkd once networkd holds its name on the bus.
i=0
until busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s org.freedesktop.network1 2>/dev/null | grep -qx 'b true'; do
  i=$((i + 1)); if [ "$i" -gt 100 ]; then echo "systemd-networkd did not start:" >&2; cat /run/systemd-networkd.log >&2; exit 1; fi
  sleep 0.1
done
