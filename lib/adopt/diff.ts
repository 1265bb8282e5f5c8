/**
 * `cdktf-xen diff`: what a deploy of a synthesized stack would change on
 * each host. Reads the stack's cdk.tf.json (the files each step stages, its
 * inventories, its SSH connections), reads the same paths from every host
 * over SSH with the stack's own credentials, bastions and pinned host keys,
 * and prints a unified diff per file, the files the deploy would remove, and
 * a summary. It only reads: the one command it runs on a host prints files.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FIREWALL_PATHS } from "../concerns/firewall";
import { inventoryPath } from "../concerns/inventory";
import { PENDING_SUFFIX } from "../private/paths";
import { generatedHeader } from "../render/header";
import { FLAVOUR } from "../private/cdk";

/** A wrong invocation, or a stack or host the diff cannot read (exit 1). */
export class DiffError extends Error {}

/** A file a deploy writes: its path, mode and content. */
export interface PlannedFile {
  readonly path: string;
  readonly mode: string;
  readonly content: string;
}

/** How a step reaches its host, as the stack's connection block says. */
export interface HostConnection {
  readonly host: string;
  readonly user: string;
  readonly port: number;
  /** The connection's `private_key` expression; undefined: the SSH agent. */
  readonly privateKey?: string;
  readonly hostKey?: string;
  readonly bastion?: HostConnection;
}

/** One host of a stack: how it is reached, what the deploy writes there, and the names of its inventories. */
export interface PlannedHost {
  readonly name: string;
  readonly connection: HostConnection;
  readonly files: readonly PlannedFile[];
  /** Names each inventory kind (`guests`, `sites`) will list after the deploy. */
  readonly inventories: Readonly<Record<string, readonly string[]>>;
}

/** A file on a host: its mode and content; undefined when it is not there. */
export type HostFileState = { readonly mode: string; readonly content: string } | undefined;

/** Reads files of a host (read-only). */
export type HostReader = (host: PlannedHost, paths: readonly string[]) => Map<string, HostFileState>;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What a removed inventory name takes with it on the host. */
const INVENTORY_FILES: Record<string, (name: string) => string[]> = {
  guests: (name) => [`/etc/xen/${name}.cfg`],
  sites: (name) => [`/etc/apache2/sites-available/${name}.conf`, `/etc/apache2/sites-enabled/${name}.conf`],
};

const STAGE = /^stage (\/\S+) (0[0-7]{3}) '([A-Za-z0-9+/=]*)'$/gm;
const SAFE_PATH = /^\/[A-Za-z0-9._+@%=/-]+$/;

function connectionOf(c: Json, where: string): HostConnection {
  if (!c || typeof c.host !== "string") throw new DiffError(`${where}: no SSH connection in the stack`);
  const bastion = c.bastion_host
    ? { host: c.bastion_host, user: c.bastion_user ?? c.user ?? "root", port: Number(c.bastion_port ?? 22), privateKey: c.bastion_private_key ?? c.private_key, hostKey: c.bastion_host_key }
    : undefined;
  return { host: c.host, user: c.user ?? "root", port: Number(c.port ?? 22), privateKey: c.private_key, hostKey: c.host_key, bastion };
}

/** The hosts of a synthesized stack (`cdktf.out/stacks/<stack>`), from its cdk.tf.json. */
export function readStack(stackDir: string): PlannedHost[] {
  const file = path.join(stackDir, "cdk.tf.json");
  if (!fs.existsSync(file)) throw new DiffError(`${file}: no such file: synthesize the stack first (${FLAVOUR.cli} synth)`);
  const json = JSON.parse(fs.readFileSync(file, "utf8")) as Json;
  const hosts = new Map<string, { connection: HostConnection; files: Map<string, PlannedFile>; inventories: Record<string, string[]> }>();
  for (const type of ["null_resource", "terraform_data"]) {
    for (const [name, r] of Object.entries<Json>(json.resource?.[type] ?? {})) {
      const step: string | undefined = (r.triggers ?? r.triggers_replace)?.step;
      if (typeof step !== "string" || !step.includes("/")) continue;
      const [host, concern] = step.split("/");
      const entry = hosts.get(host) ?? { connection: connectionOf(r.connection, `${type}.${name}`), files: new Map<string, PlannedFile>(), inventories: {} as Record<string, string[]> };
      hosts.set(host, entry);
      for (const p of r.provisioner ?? []) {
        const script: string = p["remote-exec"]?.inline?.[0] ?? "";
        for (const m of script.matchAll(STAGE)) {
          const target = m[1].endsWith(PENDING_SUFFIX) ? m[1].slice(0, -PENDING_SUFFIX.length) : m[1];
          const content = Buffer.from(m[3], "base64").toString("utf8");
          entry.files.set(target, { path: target, mode: m[2], content });
          if (target === inventoryPath(concern)) entry.inventories[concern] = content.split("\n").filter(Boolean);
        }
      }
    }
  }
  if (!hosts.size) throw new DiffError(`${file}: no cdktf-xen step in this stack`);
  return [...hosts].map(([name, h]) => ({ name, connection: h.connection, files: [...h.files.values()].sort((a, b) => (a.path < b.path ? -1 : 1)), inventories: h.inventories }));
}

/** The paths whose current state the diff needs: the planned files, the inventories, the other firewall backend's files. */
function pathsToRead(host: PlannedHost): string[] {
  const paths = new Set(host.files.map((f) => f.path));
  if (host.files.some((f) => Object.values(FIREWALL_PATHS).includes(f.path))) for (const p of Object.values(FIREWALL_PATHS)) paths.add(p);
  return [...paths].sort();
}

/** What a deploy would do on one host. */
export interface HostDiff {
  readonly host: string;
  /** Unified diffs and notes, for a person. */
  readonly text: string;
  readonly changed: number;
  readonly added: number;
  readonly removed: number;
}

/** A unified diff of two texts, by the system's `diff -u`. */
export function unifiedDiff(before: string, after: string, labelBefore: string, labelAfter: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-xen-diff-"));
  try {
    fs.writeFileSync(path.join(dir, "a"), before);
    fs.writeFileSync(path.join(dir, "b"), after);
    const r = spawnSync("diff", ["-u", "--label", labelBefore, "--label", labelAfter, path.join(dir, "a"), path.join(dir, "b")], { encoding: "utf8" });
    if (r.status === 2 || r.error) throw new DiffError(`diff -u failed: ${r.stderr || r.error}`);
    return r.stdout;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Compares what the deploy writes with what the host has. */
export function diffHost(host: PlannedHost, current: ReadonlyMap<string, HostFileState>): HostDiff {
  const out: string[] = [];
  let changed = 0;
  let added = 0;
  let removed = 0;
  for (const f of host.files) {
    const now = current.get(f.path);
    const label = `${host.name}:${f.path}`;
    if (now === undefined) {
      added++;
      out.push(`new file ${label} (mode ${f.mode})`, unifiedDiff("", f.content, "/dev/null", `${label} (the deploy)`).trimEnd());
      continue;
    }
    const modeNote = now.mode !== f.mode ? [`mode of ${label}: ${now.mode} -> ${f.mode}`] : [];
    if (now.content === f.content && !modeNote.length) continue;
    changed++;
    out.push(...modeNote);
    if (now.content !== f.content) out.push(unifiedDiff(now.content, f.content, `${label} (on the host)`, `${label} (the deploy)`).trimEnd());
  }
  // Inventories: the names that leave take their files.
  for (const [kind, names] of Object.entries(host.inventories)) {
    const before = current.get(inventoryPath(kind));
    if (!before) continue;
    for (const name of before.content.split("\n").filter((n) => /^[a-z0-9-]+$/.test(n))) {
      if (names.includes(name)) continue;
      for (const p of (INVENTORY_FILES[kind] ?? (() => []))(name)) {
        removed++;
        out.push(`would remove ${host.name}:${p} (${kind === "guests" ? "guest" : "site"} ${name} left the code${kind === "guests" ? "; the deploy shuts it down" : ""})`);
      }
    }
  }
  // The other firewall backend's files that a deploy of ours wrote: retired once the new ruleset is confirmed.
  const header = generatedHeader().trimEnd();
  for (const p of Object.values(FIREWALL_PATHS)) {
    if (host.files.some((f) => f.path === p)) continue;
    const now = current.get(p);
    if (!now || !now.content.split("\n").slice(0, 2).includes(header)) continue;
    if (p === FIREWALL_PATHS.nftRules) {
      changed++;
      out.push(`would empty ${host.name}:${p} (the other firewall backend's: it will load nothing)`);
    } else if (p !== FIREWALL_PATHS.ipsets || !host.files.some((f) => f.path === FIREWALL_PATHS.iptablesRules && f.content.includes("--match-set"))) {
      removed++;
      out.push(`would remove ${host.name}:${p} (the other firewall backend's)`);
    }
  }
  const summary = changed + added + removed ? `${changed} changed, ${added} new, ${removed} removed` : "no change";
  return { host: host.name, text: [`== ${host.name} (${host.connection.user}@${host.connection.host}): ${summary}`, ...out].join("\n") + "\n", changed, added, removed };
}

/** The private key a connection's expression names: a Terraform variable from the environment, or a file. */
function privateKeyOf(expr: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (expr === undefined) return undefined;
  const variable = /^\$\{var\.([A-Za-z0-9_-]+)\}$/.exec(expr);
  if (variable) {
    const value = env[`TF_VAR_${variable[1]}`];
    if (value === undefined) throw new DiffError(`the stack's SSH key is the variable ${variable[1]}: set TF_VAR_${variable[1]} as for ${FLAVOUR.cli} deploy`);
    return value;
  }
  const file = /^\$\{file\((?:pathexpand\()?"([^"]+)"\)?\)\}$/.exec(expr);
  if (file) {
    const p = file[1].startsWith("~/") ? path.join(os.homedir(), file[1].slice(2)) : file[1];
    try {
      return fs.readFileSync(p, "utf8");
    } catch (e) {
      throw new DiffError(`the stack's SSH key file ${p} cannot be read: ${(e as Error).message}`);
    }
  }
  throw new DiffError(`the stack's SSH key is ${JSON.stringify(expr)}: diff reads var.NAME (from TF_VAR_NAME) and file("...") only`);
}

/** The command, run on a host, that prints each path's mode and content (base64), or that it is missing. Reads only. */
const READ_FILES = [
  'for p in "$@"; do',
  '  if [ -f "$p" ]; then printf "F %s %s " "$(stat -c %a "$p")" "$p"; base64 -w0 < "$p"; echo;',
  '  elif [ -e "$p" ]; then printf "O %s\\n" "$p";',
  '  else printf "N %s\\n" "$p"; fi',
  "done",
].join("\n");

/** ssh's options for one hop: the pinned host key (or none, as Terraform), the key, no config of the user's. */
function sshOptions(c: HostConnection, dir: string, tag: string, env: NodeJS.ProcessEnv): string[] {
  const opts = ["-F", "/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "-p", String(c.port), "-l", c.user];
  if (c.hostKey) {
    const known = path.join(dir, `known_hosts.${tag}`);
    fs.writeFileSync(known, `cdktf-xen-${tag} ${c.hostKey}\n`);
    opts.push("-o", `UserKnownHostsFile=${known}`, "-o", "StrictHostKeyChecking=yes", "-o", `HostKeyAlias=cdktf-xen-${tag}`);
  } else {
    // Terraform checks no host key unless one is pinned; neither does the diff then.
    opts.push("-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "LogLevel=ERROR");
  }
  const key = privateKeyOf(c.privateKey, env);
  if (key !== undefined) {
    const file = path.join(dir, `key.${tag}`);
    fs.writeFileSync(file, key.endsWith("\n") ? key : `${key}\n`, { mode: 0o600 });
    opts.push("-i", file, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none");
  }
  return opts;
}

/** The shell-quoted words of a command line. */
function quoted(words: readonly string[]): string {
  return words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(" ");
}

/** Reads files over SSH as the stack's connection says (bastion included). */
export function sshReader(env: NodeJS.ProcessEnv = process.env): HostReader {
  return (host, paths) => {
    for (const p of paths) if (!SAFE_PATH.test(p)) throw new DiffError(`${host.name}: path ${JSON.stringify(p)} cannot be asked of a host`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-xen-ssh-"));
    try {
      const c = host.connection;
      const args = sshOptions(c, dir, "host", env);
      if (c.bastion) args.push("-o", `ProxyCommand=${quoted(["ssh", ...sshOptions(c.bastion, dir, "bastion", env), "-W", "%h:%p", c.bastion.host])}`);
      const r = spawnSync("ssh", [...args, c.host, "sh", "-c", `'${READ_FILES.replace(/'/g, `'\\''`)}'`, "cdktf-xen-diff", ...paths], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, env: { ...env, SSH_AUTH_SOCK: c.privateKey ? "" : env.SSH_AUTH_SOCK } });
      if (r.status !== 0) throw new DiffError(`${host.name}: cannot read its files over SSH (${c.user}@${c.host}:${c.port}${c.bastion ? ` through ${c.bastion.host}` : ""}): ${(r.stderr || String(r.error ?? "")).trim()}`);
      const out = new Map<string, HostFileState>();
      for (const line of r.stdout.split("\n")) {
        const m = /^([FON]) (?:(\d+) )?(\S+)(?: (\S*))?$/.exec(line);
        if (!m) continue;
        if (m[1] === "F") out.set(m[3], { mode: `0${m[2]}`.slice(-4), content: Buffer.from(m[4] ?? "", "base64").toString("utf8") });
        else if (m[1] === "O") out.set(m[3], { mode: "", content: "(not a regular file)" });
        else out.set(m[3], undefined);
      }
      return out;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** The diff of every host of a stack; exit 0: no change, 2: changes. */
export function diffStack(stackDir: string, reader: HostReader = sshReader()): { text: string; exitCode: 0 | 2; hosts: HostDiff[] } {
  const hosts = readStack(stackDir);
  const diffs = hosts.map((h) => diffHost(h, reader(h, pathsToRead(h))));
  const total = (k: "changed" | "added" | "removed") => diffs.reduce((n, d) => n + d[k], 0);
  const changes = total("changed") + total("added") + total("removed");
  const changed = total("changed");
  const summary = `${hosts.length} hosts: ${changes ? `${changed} file${changed === 1 ? "" : "s"} changed, ${total("added")} new, ${total("removed")} removed` : "no change"}`;
  return { text: `${diffs.map((d) => d.text).join("\n")}\n${summary}\n`, exitCode: changes ? 2 : 0, hosts: diffs };
}
