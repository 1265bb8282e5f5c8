/**
 * Apache on a guest: ports.conf (one Listen per vhost address:port), one
 * site file per vhost, and the inventory that disables and removes the sites
 * that left the code. Each file is checked by `apache2ctl -t` on a staged
 * copy of the whole tree before it replaces anything; Apache's lifecycle is
 * in sh/.
 */
import type { VhostModel } from "../../model";
import { renderApachePorts, renderApacheSite } from "../../render/apache";
import { shellSource } from "../../render/shell-source";
import type { StepModel } from "../../deploy/step";
import { inventoryStep } from "../inventory";

/** Apache's Listen directives. */
export const PORTS_CONF_PATH = "/etc/apache2/ports.conf";

/** Where a vhost's site file lives on its guest. */
export function sitePath(vhost: VhostModel): string {
  return `/etc/apache2/sites-available/${vhost.name}.conf`;
}

/** The validate functions, in sh/: see the file. */
const APACHE_STAGE = shellSource(__dirname, "sh/apache-stage.sh");

/**
 * Copies /etc/apache2 to a scratch directory, lays the staged files over it
 * (`place`), and runs `apache2ctl -t` on that whole tree: the live tree is
 * not touched.
 */
function stagedApacheTest(place: string[]): string {
  return [APACHE_STAGE, "apache_stage", ...place, "apache_test_stage"].join("\n");
}

/** mod_ssl (and what it needs) enabled in the staged tree. */
const STAGE_TLS = ["stage_tls"];
/** mod_ssl enabled on the host; a no-op when it already is. */
const ENABLE_TLS = "a2enmod -q ssl >/dev/null";

/** Apache's lifecycle, in sh/: see the files. */
const APACHE_RELOAD = shellSource(__dirname, "sh/apache-reload.sh");
const APACHE_STOP = shellSource(__dirname, "sh/apache-stop.sh");

/**
 * Apache's ports.conf for the vhosts of one guest (and mod_ssl when one uses
 * TLS). Graceful and plain restarts keep the old listening sockets and cannot
 * bind changed ones (`Listen 80` to `Listen 192.0.2.10:80`: Apache exits with
 * "Address already in use"), so a changed ports.conf means stop, then start;
 * an unchanged one a graceful restart.
 */
export function apachePortsStep(host: string, vhosts: readonly VhostModel[]): StepModel {
  const tls = vhosts.some((v) => v.tls);
  return {
    host,
    concern: "apache",
    files: [{ path: PORTS_CONF_PATH, content: renderApachePorts(vhosts), mode: "0644" }],
    validate: stagedApacheTest(['put "$NEW1" "$stage/apache2/ports.conf"', ...(tls ? STAGE_TLS : [])]),
    activate: [
      APACHE_RELOAD,
      APACHE_STOP,
      ...(tls ? [ENABLE_TLS] : []),
      "apache2ctl -t",
      `if ! cmp -s ${PORTS_CONF_PATH} ${PORTS_CONF_PATH}.cdktf-xen.bak; then apache_stop; fi`,
      "apache_reload",
    ].join("\n"),
  };
}

/**
 * One vhost's site file: checked in the staged tree with the site enabled,
 * then a2ensite and a reload. A TLS site enables mod_ssl itself, so it needs
 * no other step to run first.
 */
export function siteStep(host: string, vhost: VhostModel): StepModel {
  const conf = `${vhost.name}.conf`;
  const path = sitePath(vhost);
  return {
    host,
    concern: `site-${vhost.name}`,
    files: [{ path, content: renderApacheSite(vhost), mode: "0644" }],
    validate: stagedApacheTest([
      `put "$NEW1" "$stage/apache2/sites-available/${conf}"`,
      `ln -sf ../sites-available/${conf} "$stage/apache2/sites-enabled/${conf}"`,
      ...(vhost.tls ? STAGE_TLS : []),
    ]),
    activate: [
      APACHE_RELOAD,
      ...(vhost.tls ? [ENABLE_TLS] : []),
      // After a rollback of a new site the file is gone again: disable it too.
      `if [ -e ${path} ]; then a2ensite -q ${vhost.name} >/dev/null; else a2dissite -q ${vhost.name} >/dev/null 2>&1 || true; fi`,
      "apache2ctl -t",
      "apache_reload",
    ].join("\n"),
  };
}

/**
 * The guest's inventory of sites. It runs after every site step, so a
 * still-wanted file is never missing.
 */
export function sitesInventoryStep(host: string, names: readonly string[]): StepModel {
  return inventoryStep(host, "sites", names, {
    noun: "site",
    before: [APACHE_RELOAD, "changed=0"],
    removeOne: ['  a2dissite -q "$name" >/dev/null 2>&1 || true', '  rm -f "/etc/apache2/sites-available/$name.conf"', "  changed=1"],
    after: ['if [ "$changed" = 1 ]; then', "  apache2ctl -t", "  apache_reload", "fi"],
  });
}
