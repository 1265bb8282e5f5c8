/**
 * The deploy steps of each concern, as pure functions of the model: which
 * files travel together, which program checks them, and how they take effect.
 */
import { shellSource } from "../render/shell-source";
import type { GuestModel, HostFile, VhostModel } from "../model";
import { FIREWALL_SCRIPT_PATH, STATE_DIR, SYSCTL_PATH } from "../paths";
import { policyRoutingCommands } from "../render/interfaces";
import type { StepModel } from "./step";

/** Checks that every key of a staged sysctl.d file exists on this kernel. */
function sysctlCheck(variable: string): string {
  return [
    `sed -n 's/^[[:space:]]*\\([A-Za-z0-9_./-]*\\)[[:space:]]*=.*/\\1/p' "$${variable}" | while read -r key; do`,
    '  case $key in */*) p=$key ;; *) p=$(printf %s "$key" | tr . /) ;; esac',
    '  if [ ! -e "/proc/sys/$p" ]; then echo "unknown sysctl $key" >&2; exit 1; fi',
    "done",
  ].join("\n");
}

function indexOf(files: readonly HostFile[], path: string): number {
  const i = files.findIndex((f) => f.path === path);
  if (i < 0) throw new Error(`step has no file ${path}`);
  return i + 1;
}

/** dom0 sysctls and the vif hook: keys must exist; `sysctl -p` applies them. */
export function dom0SysctlStep(host: string, files: readonly HostFile[], hookPath: string): StepModel {
  return {
    host,
    concern: "sysctl",
    files,
    validate: [sysctlCheck(`NEW${indexOf(files, SYSCTL_PATH)}`), `bash -n "$NEW${indexOf(files, hookPath)}"`].join("\n"),
    activate: `sysctl -q -p ${SYSCTL_PATH}`,
  };
}

/**
 * The guest's xl cfg on its dom0: checked by `xl create -n` (a dry run), and
 * the guest created when it is not running. A running guest is restarted only
 * when asked (`restartOnChange`) and its cfg changed; otherwise the new cfg
 * takes effect the next time it is created.
 */
/**
 * `xl shutdown -w` that gives up after `seconds`: a guest that hangs in its
 * shutdown would hold the dom0's lock, and every later step, for ever.
 */
function xlShutdown(word: string, shown: string, seconds: number): string {
  return `timeout ${seconds} xl shutdown -w ${word} || { echo "guest ${shown} did not shut down within ${seconds} s and keeps running: shut it down (or xl destroy it), then deploy again" >&2; exit 1; }`;
}

export function guestCfgStep(host: string, guest: GuestModel, file: HostFile, restartOnChange: boolean, shutdownSeconds: number): StepModel {
  const later = `  echo "${guest.name} is running; ${file.path} takes effect when it is next created"`;
  return {
    host,
    concern: `guest-${guest.name}`,
    files: [file],
    validate: [
      'command -v xl >/dev/null 2>&1 || { echo "xl not found: this host is not a Xen dom0" >&2; exit 1; }',
      'xl create -n "$NEW1" >/dev/null',
    ].join("\n"),
    activate: [
      `if ! xl list ${guest.name} >/dev/null 2>&1; then`,
      `  xl create ${file.path}`,
      ...(restartOnChange
        ? [
            `elif ! cmp -s ${file.path} ${file.path}.cdktf-xen.bak; then`,
            `  echo "${guest.name} is running and its cfg changed: restarting it (restartOnChange)"`,
            `  ${xlShutdown(guest.name, guest.name, shutdownSeconds)}`,
            `  xl create ${file.path}`,
          ]
        : []),
      "else",
      later,
      "fi",
    ].join("\n"),
  };
}

/**
 * The dom0 firewall: the staged firewall script checks the staged ruleset
 * (`cdktf-xen-firewall check`), then `try` loads it and rolls back by itself
 * unless the confirm step, from a fresh SSH connection, confirms.
 */
export function firewallStep(host: string, files: readonly HostFile[], checked: readonly string[], rollbackSeconds: number): StepModel {
  const script = `"$NEW${indexOf(files, FIREWALL_SCRIPT_PATH)}"`;
  const staged = checked.map((p) => `"$NEW${indexOf(files, p)}"`);
  return {
    host,
    concern: "firewall",
    files,
    validate: [`sh -n ${script}`, `sh ${script} check ${staged.join(" ")}`].join("\n"),
    activate: `${FIREWALL_SCRIPT_PATH} try ${rollbackSeconds}`,
  };
}

/** Runs over a new SSH connection after the firewall step: proves management access, keeps the ruleset. */
export function firewallConfirmStep(host: string): StepModel {
  return { host, concern: "firewall-confirm", files: [], validate: "", activate: `${FIREWALL_SCRIPT_PATH} confirm` };
}

/**
 * The guest's network, changed in place: files checked by `ifup --no-act`,
 * sysctls applied, interfaces that are down brought up, and the policy
 * routing of interfaces that are up re-applied. No interface is taken down,
 * so the SSH session of the deploy itself survives.
 */
export function guestNetworkStep(host: string, guest: GuestModel, files: readonly HostFile[]): StepModel {
  const activate = [`sysctl -q -p ${SYSCTL_PATH}`];
  for (const vif of guest.vifs) {
    const up = guest.policyRouting ? policyRoutingCommands(vif, guest.gateway).up : [":"];
    activate.push(
      `if ifquery --state ${vif.device} >/dev/null 2>&1; then`,
      ...up.map((c) => `  ${c}`),
      "else",
      `  ifup ${vif.device}`,
      "fi",
    );
  }
  return {
    host,
    concern: "network",
    files,
    validate: [
      sysctlCheck(`NEW${indexOf(files, SYSCTL_PATH)}`),
      'state=$(mktemp -d); trap \'rm -rf "$state"\' EXIT',
      `ifup --no-act -a -i "$NEW${indexOf(files, "/etc/network/interfaces")}" --state-dir "$state" >/dev/null 2>&1`,
    ].join("\n"),
    activate: activate.join("\n"),
  };
}

/**
 * Copies /etc/apache2 to a scratch directory, lays the staged files over it,
 * and runs `apache2ctl -t` on that whole tree: the live tree is not touched.
 */
function stagedApacheTest(place: string[]): string {
  return [
    "command -v apache2ctl >/dev/null 2>&1 || { echo \"apache2ctl not found: install apache2\" >&2; exit 1; }",
    'stage=$(mktemp -d); trap \'rm -rf "$stage"\' EXIT',
    'cp -a /etc/apache2 "$stage/apache2"',
    "# The copy keeps links as links (a site file may be one into a repository): replace, never write through them.",
    'put() { rm -f "$2"; cp "$1" "$2"; }',
    ...place,
    'APACHE_CONFDIR="$stage/apache2" apache2ctl -t',
  ].join("\n");
}

const TLS_MODULES = ["socache_shmcb", "ssl"];

/** mod_ssl (and what it needs) enabled in the staged tree. */
const STAGE_TLS = [
  `for m in ${TLS_MODULES.join(" ")}; do for e in load conf; do`,
  '  if [ -e "$stage/apache2/mods-available/$m.$e" ]; then ln -sf "../mods-available/$m.$e" "$stage/apache2/mods-enabled/$m.$e"; fi',
  "done; done",
];
/** mod_ssl enabled on the host; a no-op when it already is. */
const ENABLE_TLS = "a2enmod -q ssl >/dev/null";

/** Apache's lifecycle, in lib/deploy/sh/: see the files. */
const APACHE_RELOAD = shellSource(__dirname, "sh/apache-reload.sh");
const APACHE_STOP = shellSource(__dirname, "sh/apache-stop.sh");

/**
 * Apache's ports.conf (and mod_ssl when a vhost uses TLS). Graceful and
 * plain restarts keep the old listening sockets and cannot bind changed ones
 * (`Listen 80` to `Listen 192.0.2.10:80`: Apache exits with "Address already
 * in use"), so a changed ports.conf means stop, then start; an unchanged one
 * a graceful restart.
 */
export function apachePortsStep(host: string, file: HostFile, tls: boolean): StepModel {
  return {
    host,
    concern: "apache",
    files: [file],
    validate: stagedApacheTest(['put "$NEW1" "$stage/apache2/ports.conf"', ...(tls ? STAGE_TLS : [])]),
    activate: [
      APACHE_RELOAD,
      APACHE_STOP,
      ...(tls ? [ENABLE_TLS] : []),
      "apache2ctl -t",
      `if ! cmp -s ${file.path} ${file.path}.cdktf-xen.bak; then apache_stop; fi`,
      "apache_reload",
    ].join("\n"),
  };
}

/**
 * One vhost's site file: checked in the staged tree with the site enabled,
 * then a2ensite and a reload. A TLS site enables mod_ssl itself, so it needs
 * no other step to run first.
 */
export function siteStep(host: string, vhost: VhostModel, file: HostFile): StepModel {
  const conf = `${vhost.name}.conf`;
  return {
    host,
    concern: `site-${vhost.name}`,
    files: [file],
    validate: stagedApacheTest([
      `put "$NEW1" "$stage/apache2/sites-available/${conf}"`,
      `ln -sf ../sites-available/${conf} "$stage/apache2/sites-enabled/${conf}"`,
      ...(vhost.tls ? STAGE_TLS : []),
    ]),
    activate: [
      APACHE_RELOAD,
      ...(vhost.tls ? [ENABLE_TLS] : []),
      // After a rollback of a new site the file is gone again: disable it too.
      `if [ -e ${file.path} ]; then a2ensite -q ${vhost.name} >/dev/null; else a2dissite -q ${vhost.name} >/dev/null 2>&1 || true; fi`,
      "apache2ctl -t",
      "apache_reload",
    ].join("\n"),
  };
}

/** What an inventory removes for each name that left it. */
export type InventoryKind = "guests" | "sites";

/** How long a guest may take to shut down before a step gives up on it. */
export const GUEST_SHUTDOWN_SECONDS = 300;

/** Path of a host's inventory of one kind. */
export function inventoryPath(kind: InventoryKind): string {
  return `${STATE_DIR}/${kind}.list`;
}

/** The inventory file: one name a line, sorted. */
export function renderInventory(names: readonly string[]): string {
  return [...new Set(names)].sort().map((n) => `${n}\n`).join("");
}

/** Per kind: the name in messages, what removes one name that left, and how the host takes in the removals. */
const INVENTORY_KINDS: Record<InventoryKind, { readonly noun: string; readonly before: string[]; readonly removeOne: (shutdownSeconds: number) => string[]; readonly after: string[] }> = {
  guests: {
    noun: "guest",
    before: [],
    removeOne: (seconds) => [`  if xl list "$name" >/dev/null 2>&1; then ${xlShutdown('"$name"', "$name", seconds)}; fi`, '  rm -f "/etc/xen/$name.cfg"'],
    after: [],
  },
  sites: {
    noun: "site",
    before: [APACHE_RELOAD, "changed=0"],
    removeOne: () => ['  a2dissite -q "$name" >/dev/null 2>&1 || true', '  rm -f "/etc/apache2/sites-available/$name.conf"', "  changed=1"],
    after: ['if [ "$changed" = 1 ]; then', "  apache2ctl -t", "  apache_reload", "fi"],
  },
};

/**
 * Removes what left the code: names in the previous inventory (the step's
 * backup) but not in the new one. The sites' runs after every site step, so
 * a still-wanted file is never missing; the guests' runs before every guest's
 * cfg step, so a guest that left (or was renamed) has given up its addresses
 * and MACs before another guest claims them.
 */
export function inventoryStep(host: string, kind: InventoryKind, names: readonly string[], shutdownSeconds = GUEST_SHUTDOWN_SECONDS): StepModel {
  const path = inventoryPath(kind);
  const k = INVENTORY_KINDS[kind];
  return {
    host,
    concern: kind,
    files: [{ path, content: renderInventory(names), mode: "0644" }],
    validate: "",
    activate: [
      `old=${path}.cdktf-xen.bak`,
      '[ -e "$old" ] || exit 0',
      ...k.before,
      "while read -r name; do",
      "  case $name in ''|*[!a-z0-9-]*) continue ;; esac",
      `  if grep -qx "$name" ${path}; then continue; fi`,
      `  echo "removing ${k.noun} $name"`,
      ...k.removeOne(shutdownSeconds),
      'done < "$old"',
      ...k.after,
    ].join("\n"),
  };
}
