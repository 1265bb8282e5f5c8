/** Paths on the hosts that more than one module needs. */

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
/** The suffix of a file a step puts beside its place until its activation puts it there (the firewall's, once confirmed): nothing loads it at boot. */
export const PENDING_SUFFIX = ".cdktf-xen.pending";
