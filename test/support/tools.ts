/**
 * Gating for tests that run real programs (ifup, iptables-restore, apache2ctl,
 * Xen's parser) or need root and network namespaces. With CI or LAB=1 set, a
 * missing prerequisite fails the run; otherwise the suite is skipped with one
 * visible line saying why.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { addNetns, deleteNetns, hostsDir } from "../../lib/lab/leftovers";
import { SandboxHost } from "../../lib/lab/sandbox-host";

export const STRICT = Boolean(process.env.CI) || process.env.LAB === "1";

function hasCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v "$1"`, "sh", cmd], { stdio: "ignore", env: withSbin() }).status === 0;
}

/** The environment with the sbin directories on PATH (ifup, iptables live there). */
export function withSbin(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const p = process.env.PATH ?? "";
  return { ...process.env, PATH: `${p}:/usr/local/sbin:/usr/sbin:/sbin`, ...extra };
}

/** What is missing among `needs`: command names, absolute file paths, or "root". */
export function missing(needs: readonly string[]): string[] {
  return needs.filter((n) => {
    if (n === "root") return process.getuid?.() !== 0;
    if (n.startsWith("/")) return !fs.existsSync(n);
    return !hasCommand(n);
  });
}

/** What a lab run needs: root, namespaces, Terraform, sshd, Xen's parser and scripts, Apache, the firewall tools. */
export const LAB_NEEDS = [
  "root", "nsenter", "unshare", "flock", "terraform", "ssh-keygen", "/usr/sbin/sshd", "gcc", "/usr/include/libxlutil.h",
  "openssl", "apache2ctl", "ifup", "curl", "socat", "ping", "ifconfig", "/etc/xen/scripts/vif-route", "xenstore-read",
  "ipset", "/usr/share/netfilter-persistent/plugins.d/10-ipset", "/usr/share/netfilter-persistent/plugins.d/15-ip4tables", "nft",
  // A guest with iftab naming (the default) is refused where no udev rule runs ifrename.
  "/lib/udev/rules.d/19-ifrename.rules",
];

/** `describe` when every prerequisite is there; otherwise fail (CI) or skip with one line. */
export function describeWith(needs: readonly string[], title: string, fn: () => void): void {
  const gone = missing(needs);
  if (gone.length === 0) {
    describe(title, fn);
    return;
  }
  const why = `${title}: needs ${gone.join(", ")} (install the packages in .ci/run)`;
  if (STRICT) {
    describe(title, () => {
      it("has its prerequisites", () => {
        throw new Error(`missing prerequisites: ${why}`);
      });
    });
    return;
  }
  process.stderr.write(`SKIPPED ${why}\n`);
  describe.skip(title, fn);
}

/** Runs a command, returning status and output; never throws on a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const r = spawnSync(cmd, args, { input: opts.input, env: withSbin(opts.env), cwd: opts.cwd, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error };
}

/** Runs a command and returns stdout, throwing with its stderr on failure. */
export function sh(cmd: string, args: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync(cmd, args, { input: opts.input, env: withSbin(opts.env), encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}

/** Every file under `dir`, relative to it, sorted; none when `dir` does not exist. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(prefix = "cdktf-xen-"): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

let counter = 0;
/** A network namespace name unique to this run (pid and a counter), at most 15 characters. */
export function uniqueName(tag: string): string {
  counter += 1;
  return `cx${process.pid % 100000}${tag}${counter}`.slice(0, 15);
}

/** The test run's folder (made by global-setup.ts): what the tests make is made from it, so that a killed run's leftovers are found. */
export function testRunDir(): string {
  const dir = process.env.CDKTF_XEN_TEST_TMP;
  if (!dir) throw new Error("CDKTF_XEN_TEST_TMP is not set: run the tests with jest and this project's jest.config.js (its global set-up makes the run's folder)");
  return dir;
}

/** A sandbox host of this test run, made in its folder. */
export function sandboxHost(tag: string): SandboxHost {
  return SandboxHost.create(uniqueName(tag), hostsDir(testRunDir()));
}

/**
 * Creates a network namespace, named in the test run's folder first:
 * `exec` runs a command in it and returns its status and output, `sh` runs
 * one that must succeed (it throws with the command and its stderr),
 * `remove` deletes the namespace.
 */
export function netns(tag: string): {
  name: string;
  exec: (cmd: string, args: readonly string[], input?: string) => ReturnType<typeof run>;
  sh: (cmd: string, ...args: string[]) => string;
  remove: () => void;
} {
  const name = uniqueName(tag);
  addNetns(testRunDir(), name);
  return {
    name,
    exec: (cmd, args, input) => run("ip", ["netns", "exec", name, cmd, ...args], { input }),
    sh: (cmd, ...args) => sh("ip", ["netns", "exec", name, cmd, ...args]),
    remove: () => deleteNetns(testRunDir(), name),
  };
}
