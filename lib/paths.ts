/** Paths on the hosts that more than one module needs. */

/** The dom0's ruleset, loaded at boot by netfilter-persistent. */
export const RULES_PATH = "/etc/iptables/rules.v4";
/** The dom0's IPv6 ruleset (nothing opened), loaded at boot by netfilter-persistent. */
export const RULES6_PATH = "/etc/iptables/rules.v6";
/** The dom0's ipsets (iptables backend, from firewall.ipsetFrom addresses), loaded at boot by ipset-persistent. */
export const IPSETS_PATH = "/etc/iptables/ipsets";
/** The dom0's ruleset with the nftables backend (include it from /etc/nftables.conf to load it at boot). */
export const NFT_RULES_PATH = "/etc/cdktf-xen/firewall.nft";
/** The script that loads the ruleset in one transaction, with a dead-man switch. */
export const FIREWALL_SCRIPT_PATH = "/usr/local/sbin/cdktf-xen-firewall";
/** Where deploy steps keep state on every host (inventories, the firewall watchdog). */
export const STATE_DIR = "/var/lib/cdktf-xen";
/** sysctl.d file of both dom0 and guests. */
export const SYSCTL_PATH = "/etc/sysctl.d/60-cdktf-xen.conf";
/**
 * Where Terraform uploads each step's script: the login user's home directory
 * (root's is 0700), never /tmp, which is often mounted noexec and where the
 * script Terraform makes world-writable (0777) could be rewritten by any local
 * user while root runs it. `%RAND%` is Terraform's.
 */
export const SCRIPT_PATH = "./.cdktf-xen-%RAND%.sh";
/** The vif hook that vif-route sources. */
export const VIF_HOOK_PATH = "/etc/xen/scripts/vif-post.d/cdktf-xen.hook";
/** The suffix of a file a step puts beside its place until its activation puts it there (the firewall's, once confirmed): nothing loads it at boot. */
export const PENDING_SUFFIX = ".cdktf-xen.pending";
