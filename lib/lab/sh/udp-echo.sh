# shellcheck shell=sh
## A UDP echo on ADDRESS:PORT in a lab guest, for the lab's probes of a forwarded UDP port:
## every datagram goes back to its sender from ADDRESS:PORT (socat's RECVFROM with fork
## answers from the socket that received it). Started once: an echo already listening there
## is kept. Run inside the guest; the echo lives in its namespaces until the lab ends it.
set -eu
listening() { ss -Hlun "src $ADDRESS:$PORT" | grep -q .; }
listening && exit 0
command -v socat >/dev/null || { echo "socat is not installed (Debian package socat): the lab's UDP probes need it" >&2; exit 1; }
setsid socat -T 1 "UDP4-RECVFROM:$PORT,bind=$ADDRESS,fork" PIPE < /dev/null > /dev/null 2> /run/cdktf-xen-lab-udp-echo.log &
i=0
until listening; do
  i=$((i + 1)); if [ "$i" -gt 50 ]; then echo "the UDP echo on $ADDRESS:$PORT did not start:" >&2; cat /run/cdktf-xen-lab-udp-echo.log >&2; exit 1; fi
  sleep 0.1
done
