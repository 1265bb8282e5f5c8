/**
 * A copy of hosts' files on disk, laid out as the synth preview is:
 * `<dir>/<host>/<absolute path>` (what `rsync -a host:/etc <dir>/<host>/`
 * gives), with what a running host shows captured beside it in
 * `<dir>/<host>.state/`. Reads only the files the reachability model and
 * the importer read; paths and links are resolved as on the host, with the
 * host's folder as its root, so nothing outside it is read; systemd's links
 * in /etc/systemd/system, which point to units the copy does not hold, are
 * taken as the paths they point to.
 */
import * as fs from "fs";
import * as path from "path";
import { Reachability } from "../reachability";
import { firewallFilesLoaded } from "../reachability/ifupdown";
import { nftIncludes } from "../reachability/firewalls";
import { readApacheBlocks } from "../reachability/apache";
import { wildcardPattern } from "../reachability/files-by-path";
import { FIREWALL_UNITS, SYSTEMD_SYSTEM } from "../reachability/boot-units";
import type { Dom0Running, FileSet, GuestRunning, LiveRoutingText } from "../reachability";

/** The captured state files, by their name in `<dir>/<host>.state/`, and the command that prints each. */
export const STATE_FILES = {
  sysctl: "sysctl -a",
  "iptables-save": "iptables-save",
  "nft-ruleset": "nft list ruleset",
  "xl-list": "xl list",
  "ip-addr": "ip -4 -o addr show",
  "ip-route": "ip -4 route show table all",
  "ip-rule": "ip -4 rule show",
  "ip-link": "ip -o link show",
  sshd: "sshd -T",
  listening: "ss -Hltnp",
} as const;

/** The captures of a host's routing, read together or not at all. */
const ROUTING_FILES = ["ip-addr", "ip-route", "ip-rule"] as const;

export type StateFile = keyof typeof STATE_FILES;

/** The folders and files of a host that are read, as absolute paths. */
const READ = [
  "/etc/xen",
  "/etc/sysctl.conf",
  "/etc/sysctl.d",
  "/etc/iptables",
  "/etc/nftables.conf",
  "/etc/ufw/ufw.conf",
  "/etc/firewalld/firewalld.conf",
  "/etc/cdktf-xen",
  "/etc/network/interfaces",
  "/etc/network/interfaces.d",
  "/etc/iproute2",
  "/etc/iftab",
  "/etc/udev/rules.d",
  "/etc/systemd/network",
  "/etc/netplan",
  // All of it: an Include (in a site's section too) may name any file of its ServerRoot.
  "/etc/apache2",
  "/etc/ssh/sshd_config",
  "/etc/ssh/sshd_config.d",
  "/usr/local/sbin/cdktf-xen-firewall",
  "/var/lib/cdktf-xen",
];

/** Larger files are not read (a host's configuration files are small). */
const MAX_BYTES = 1 << 20;

/** A file of the copy that could not be read, and why. */
export interface CopyProblem {
  /** The absolute path on the host. */
  readonly path: string;
  readonly why: string;
}

/** One host's copied files and captured state. */
export interface HostCopy {
  /** The host's name: its folder in the copy. */
  readonly host: string;
  /** Where its files are: `<dir>/<host>`. */
  readonly root: string;
  /** Whether the copy holds the host's folder at all. */
  readonly exists: boolean;
  /** The files read, by absolute path on the host. */
  readonly files: FileSet;
  /** The captured state files found, by name. */
  readonly state: Partial<Record<StateFile, string>>;
  /** Files and state the copy holds but that could not be read. */
  readonly problems: readonly CopyProblem[];
}

/** How many links a path may cross, as Linux allows (MAXSYMLINKS). */
const MAX_LINKS = 40;

/** Where a host path is in the copy, or why it is not there. */
type InCopy = { readonly path: string } | { readonly why: string; readonly link: boolean };

/**
 * `hostPath` resolved in the copy as the host resolves it: part by part, `..`
 * after the links before it, every link's target read as a path on the host
 * (an absolute one from the copy's root). The path it gives holds no link and
 * no `..`, so reading it never leaves the copy, whatever the copy's links or
 * the paths its files name say.
 */
function resolveInside(root: string, hostPath: string): InCopy {
  let links = 0;
  const walk = (from: string, p: string): InCopy => {
    let at = p.startsWith("/") ? "/" : from;
    for (const part of p.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") {
        at = path.posix.dirname(at);
        continue;
      }
      const next = path.posix.join(at, part);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(path.join(root, next));
      } catch {
        return { why: "not in the copy", link: false };
      }
      if (!st.isSymbolicLink()) {
        at = next;
        continue;
      }
      if (++links > MAX_LINKS) return { why: `more than ${MAX_LINKS} links on its way`, link: true };
      const target = fs.readlinkSync(path.join(root, next));
      const resolved = walk(at, target);
      if (!("path" in resolved)) return resolved.link ? resolved : { why: `a link whose target the copy does not hold (${target})`, link: true };
      at = resolved.path;
    }
    return { path: at };
  };
  return walk("/", hostPath);
}

/** Reads `<dir>/<host>`: the files the model reads, and the captured state beside them. */
export function readHostCopy(dir: string, host: string): HostCopy {
  const root = path.join(dir, host);
  const files: Record<string, string> = {};
  const problems: CopyProblem[] = [];
  // A host's name (an xl config's `name`, which the copy's files give) is one folder of the copy, never a path out of it.
  const isFolderName = /^[^/]+$/.test(host) && host !== "." && host !== "..";
  const exists = isFolderName && fs.existsSync(root) && fs.statSync(root).isDirectory();
  const readOne = (hostPath: string): void => {
    const real = resolveInside(root, hostPath);
    if (!("path" in real)) {
      problems.push({ path: hostPath, why: real.why });
      return;
    }
    const onDisk = path.join(root, real.path);
    try {
      const st = fs.statSync(onDisk);
      if (st.isDirectory()) {
        for (const name of fs.readdirSync(onDisk).sort()) readOne(path.posix.join(hostPath, name));
        return;
      }
      if (!st.isFile()) return;
      if (st.size > MAX_BYTES) {
        problems.push({ path: hostPath, why: `larger than ${MAX_BYTES} bytes` });
        return;
      }
      const buf = fs.readFileSync(onDisk);
      if (buf.includes(0)) {
        problems.push({ path: hostPath, why: "not a text file" });
        return;
      }
      files[hostPath] = buf.toString("utf8");
    } catch (e) {
      problems.push({ path: hostPath, why: (e as NodeJS.ErrnoException).code ?? String(e) });
    }
  };
  // In the copy, or a link on the way that is (and whose problem readOne names).
  const there = (p: string) => {
    const r = resolveInside(root, p);
    return "path" in r || r.link;
  };
  if (exists) for (const p of READ) if (there(p)) readOne(p);
  // What the up lines of its interfaces file load into the firewall (pre-up iptables-restore < /etc/iptables.up.rules).
  if (exists) for (const p of firewallFilesLoaded(files)) if (files[p] === undefined && there(p)) readOne(p);
  // systemd's links first: whether nftables.conf loads at boot decides whether what it includes is read.
  if (exists) readSystemdLinks(root, files, problems);
  // What the nftables files that load include (include "/etc/nftables.d/*.nft"), and what Apache's Include lines name
  // outside /etc/apache2 (certbot's /etc/letsencrypt/options-ssl-apache.conf), and what those include: of a wildcard, what it matches.
  const tried = new Set<string>();
  for (let more = exists; more; ) {
    more = false;
    for (const named of [...nftIncludes(files, firewallFilesLoaded(files)).named, ...(readApacheBlocks(files)?.includes ?? [])]) {
      if (tried.has(named)) continue;
      tried.add(named);
      for (const p of inCopy(root, named, there)) {
        if (files[p] !== undefined) continue;
        readOne(p);
        more = true;
      }
    }
  }
  const state: Partial<Record<StateFile, string>> = {};
  const stateDir = `${root}.state`;
  for (const name of Object.keys(STATE_FILES) as StateFile[]) {
    const p = path.join(stateDir, name);
    if (!isFolderName || !fs.existsSync(p)) continue;
    try {
      state[name] = fs.readFileSync(p, "utf8");
    } catch (e) {
      problems.push({ path: `${host}.state/${name}`, why: (e as NodeJS.ErrnoException).code ?? String(e) });
    }
  }
  const routing = ROUTING_FILES.filter((f) => state[f] !== undefined);
  if (routing.length && routing.length < ROUTING_FILES.length) {
    problems.push({ path: `${host}.state/`, why: `${routing.join(", ")} without ${ROUTING_FILES.filter((f) => state[f] === undefined).join(", ")}: the three are read together, so the routing comes from the files` });
  }
  return { host, root, exists, files, state, problems };
}

/** The host's routing as captured, when all three captures are there. */
function routingOf(copy: HostCopy): LiveRoutingText | undefined {
  const { state } = copy;
  if (state["ip-addr"] === undefined || state["ip-route"] === undefined || state["ip-rule"] === undefined) return undefined;
  return { addr: state["ip-addr"], route: state["ip-route"], rule: state["ip-rule"] };
}

/** What a guest's captured state says it runs now. */
export function guestRunningOf(copy: HostCopy): GuestRunning {
  return { routing: routingOf(copy), iptablesSave: copy.state["iptables-save"], nftRuleset: copy.state["nft-ruleset"], listening: copy.state.listening, sysctl: copy.state.sysctl, links: copy.state["ip-link"] };
}

/**
 * The paths of the copy a path or shell wildcard names (`*`, `?` and `[...]`
 * within one component), in byte order; a folder is read whole by the caller.
 */
function inCopy(root: string, named: string, there: (p: string) => boolean): string[] {
  const parts = named.split("/");
  const wild = parts.findIndex((part) => /[*?[]/.test(part));
  if (wild < 0) return there(named) ? [named] : [];
  let matches = [parts.slice(0, wild).join("/")];
  // Component by component: only the folders the pattern can still match are listed.
  for (let i = wild; i < parts.length; i++) {
    const next: string[] = [];
    const part = wildcardPattern(parts[i]);
    for (const dir of matches) {
      const real = resolveInside(root, dir || "/");
      if (!("path" in real)) continue;
      let names: string[];
      try {
        names = fs.readdirSync(path.join(root, real.path)).sort();
      } catch {
        continue;
      }
      for (const name of names) if (part.test(name)) next.push(`${dir}/${name}`);
    }
    matches = next;
  }
  return matches;
}

/**
 * systemd's enablement in the copy's /etc/systemd/system: every link of its
 * `.wants` and `.requires` folders, and the firewall units' own entries (a
 * mask, a unit file, drop-ins). A link is given as the path it points to
 * (most point outside the copy, to /lib/systemd/system).
 */
function readSystemdLinks(root: string, files: Record<string, string>, problems: CopyProblem[]): void {
  const real = resolveInside(root, SYSTEMD_SYSTEM);
  if (!("path" in real)) return;
  const dir = path.join(root, real.path);
  if (!fs.statSync(dir).isDirectory()) return;
  const entry = (hostPath: string): void => {
    const onDisk = path.join(dir, hostPath.slice(SYSTEMD_SYSTEM.length + 1));
    try {
      const st = fs.lstatSync(onDisk);
      if (st.isSymbolicLink()) files[hostPath] = fs.readlinkSync(onDisk);
      else if (st.isFile() && st.size <= MAX_BYTES) files[hostPath] = fs.readFileSync(onDisk, "utf8");
    } catch (e) {
      problems.push({ path: hostPath, why: (e as NodeJS.ErrnoException).code ?? String(e) });
    }
  };
  for (const name of fs.readdirSync(dir).sort()) {
    const hostPath = `${SYSTEMD_SYSTEM}/${name}`;
    const isDir = !isLink(path.join(dir, name)) && fs.statSync(path.join(dir, name)).isDirectory();
    const own = (FIREWALL_UNITS as readonly string[]).includes(name);
    const dropIns = (FIREWALL_UNITS as readonly string[]).some((u) => name === `${u}.d`);
    if (isDir && (/\.(wants|requires)$/.test(name) || dropIns)) {
      try {
        for (const inner of fs.readdirSync(path.join(dir, name)).sort()) entry(`${hostPath}/${inner}`);
      } catch (e) {
        problems.push({ path: hostPath, why: (e as NodeJS.ErrnoException).code ?? String(e) });
      }
    }
    else if (own) entry(hostPath);
  }
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Domain ids by name from `xl list` output. */
export function readXlList(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^(\S+)\s+(\d+)\s+\d+\s+\d+\s/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

/** What a copy's captured state says the dom0 runs now. */
export function runningOf(copy: HostCopy): Dom0Running {
  return {
    iptablesSave: copy.state["iptables-save"],
    nftRuleset: copy.state["nft-ruleset"],
    domainIds: copy.state["xl-list"] === undefined ? undefined : readXlList(copy.state["xl-list"]),
    routing: routingOf(copy),
    sysctl: copy.state.sysctl,
  };
}

/** The firewall a dom0's copy holds, as text: what it runs now where captured, else its files (and those its up lines load, and its nftables files include). */
export function firewallTextOf(dom0: HostCopy): string {
  const live = dom0.state["iptables-save"] !== undefined || dom0.state["nft-ruleset"] !== undefined;
  const loadedPaths = live ? [] : firewallFilesLoaded(dom0.files);
  const included = live ? [] : nftIncludes(dom0.files, loadedPaths).found.filter((p) => !p.endsWith(".nft"));
  const nftFiles = Object.entries(dom0.files).filter(([p]) => p.endsWith(".nft") || p === "/etc/nftables.conf").map(([, t]) => t);
  const loaded = [...loadedPaths, ...included].map((p) => dom0.files[p] ?? "");
  return [dom0.state["iptables-save"] ?? dom0.files["/etc/iptables/rules.v4"] ?? "", dom0.state["nft-ruleset"] ?? "", ...nftFiles, ...loaded].join("\n");
}

/** The reachability model of a copy: the dom0's files and its guests', with what each runs now where captured. */
export function modelOfCopies(dom0: HostCopy, guests: Readonly<Record<string, HostCopy>>, uplink: { readonly device: string; readonly address: string }): Reachability {
  return Reachability.fromFiles({
    dom0: { id: dom0.host, uplink, files: dom0.files, running: runningOf(dom0) },
    guests: Object.fromEntries(Object.entries(guests).map(([g, c]) => [g, c.files])),
    guestsRunning: Object.fromEntries(Object.entries(guests).map(([g, c]) => [g, guestRunningOf(c)])),
  });
}
