## The vif hook, /etc/xen/scripts/vif-post.d/cdktf-xen.hook: vif-route sources
## it (call_hooks vif post) for every vif it brings up. Strict rp_filter (1) on
## the vif itself, or loose (2) on the vifs of guests with reversePathFilter
## "loose" (the kernel takes the larger of `all` and the vif, so 2 wins over the
## dom0's strict `all`). renderVifHook (../vif-hook.ts) puts the header and
## CDKTF_XEN_LOOSE_VIFS (vif names separated by spaces) before it. Sourced into
## vif-route's own shell: every name it sets starts with cdktf_xen.
# shellcheck shell=bash disable=SC2154 # command and dev are vif-route's; the loose vifs come before this
# Sourced (not executed) by Xen's vif scripts through call_hooks vif post.
case "${command:-}" in
  add|online)
    if [ -n "${dev:-}" ] && [ -w "/proc/sys/net/ipv4/conf/${dev}/rp_filter" ]; then
      cdktf_xen_rp=1
      for cdktf_xen_vif in $CDKTF_XEN_LOOSE_VIFS; do
        if [ "$cdktf_xen_vif" = "$dev" ]; then cdktf_xen_rp=2; fi
      done
      echo "$cdktf_xen_rp" > "/proc/sys/net/ipv4/conf/${dev}/rp_filter"
    fi
    ;;
esac
