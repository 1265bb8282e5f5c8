#!/bin/sh
# udev-name.sh ROOT MAC NAME: the name udev gives a new network interface that the kernel named NAME,
# with MAC, as at a guest's boot, with the naming files under ROOT (etc/iftab, etc/udev/rules.d,
# etc/systemd/network) in place of this machine's own; udev's own rules (ifrename's, systemd's
# .link files) are this machine's. Run as root by `unshare -m -n`: the interface, the mounts and
# udev's database stay in those namespaces and go with them; nothing is written outside them.
set -eu
root=$1
mac=$2
name=$3
# A /run of this namespace's own, for udev's database and the overlay's work.
mount -t tmpfs tmpfs /run
mkdir /run/udev /run/etc-upper /run/etc-work
# /etc as this machine's, with the naming files replaced: an overlay whose writes stay in /run.
mount -t overlay overlay -o lowerdir=/etc,upperdir=/run/etc-upper,workdir=/run/etc-work /etc
rm -rf /etc/iftab /etc/udev/rules.d /etc/systemd/network
mkdir -p /etc/udev/rules.d /etc/systemd/network
[ ! -f "$root/etc/iftab" ] || cp "$root/etc/iftab" /etc/iftab
[ ! -d "$root/etc/udev/rules.d" ] || cp -R "$root/etc/udev/rules.d/." /etc/udev/rules.d/
[ ! -d "$root/etc/systemd/network" ] || cp -R "$root/etc/systemd/network/." /etc/systemd/network/
# sysfs of this network namespace, where the interface is.
mount -t sysfs sysfs /sys
ip link add "$name" address "$mac" type veth peer name probe-peer
udevadm test --action=add "/sys/class/net/$name" 2>/dev/null | sed -n 's/^INTERFACE=//p'
