/**
 * A "host" on this machine: a network namespace plus a persistent private
 * mount namespace in which /etc, /usr/local, /var and /run are overlays.
 * Programs inside read the machine's real files (Apache, ifupdown, Xen's
 * scripts) and every write lands in the host's own directory: the machine's
 * files are never touched. Needs root, overlayfs, unshare and nsenter.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { processesWhere } from "./processes";

/** How a command run on a sandbox host ended. */
export interface ExecResult {
  /** Its exit status. */
  readonly status: number;
  /** What it wrote to standard output. */
  readonly stdout: string;
  /** What it wrote to standard error. */
  readonly stderr: string;
}

/** Directories that each host sees as its own (copy-on-write over the machine's). */
export const OVERLAID = ["/etc", "/usr/local", "/var", "/run", "/root"] as const;

const SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function must(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr || r.error?.message}`);
}

/** A sandbox host: a network namespace and a private mount namespace with overlays (see above). */
export class SandboxHost {
  /**
   * Creates the host. `name` is its network namespace: make it unique per
   * run (a prefix with the pid) so that runs cannot collide. Its folder is
   * made in `parent` (`cdktf-xen-NAME-` and six characters) before anything else
   * of it, so that whoever owns `parent` finds every host made there, also
   * one a killed process left half made.
   */
  static create(name: string, parent: string = os.tmpdir()): SandboxHost {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(name)) throw new Error(`sandbox name ${JSON.stringify(name)}`);
    fs.mkdirSync(parent, { recursive: true });
    const root = fs.mkdtempSync(path.join(parent, `cdktf-xen-${name}-`));
    const host = new SandboxHost(name, root);
    try {
      host.setUp();
    } catch (e) {
      host.destroy();
      throw e;
    }
    return host;
  }

  /** A handle on a host created earlier (by another process of the same lab run). */
  static attach(name: string, root: string): SandboxHost {
    const host = new SandboxHost(name, root);
    host.netnsCreated = true;
    host.nsDirMounted = true;
    return host;
  }

  /** Handles on every host made in `parent` (see `create`), half-made ones too; none when `parent` does not exist. */
  static madeIn(parent: string): SandboxHost[] {
    if (!fs.existsSync(parent)) return [];
    return fs.readdirSync(parent).flatMap((entry) => {
      const name = /^cdktf-xen-([A-Za-z0-9_-]{1,32})-[A-Za-z0-9]{6}$/.exec(entry)?.[1];
      return name ? [SandboxHost.attach(name, path.join(parent, entry))] : [];
    });
  }

  private netnsCreated = false;
  private nsDirMounted = false;
  private scripts = 0;

  private constructor(
    /** Name of the network namespace. */
    readonly name: string,
    /** Directory holding this host's writes, scripts and namespace handle. */
    readonly root: string,
  ) {}

  private get mntHandle(): string {
    return path.join(this.root, "ns", "mnt");
  }

  private setUp(): void {
    must("ip", ["netns", "add", this.name]);
    this.netnsCreated = true;
    const nsDir = path.join(this.root, "ns");
    fs.mkdirSync(nsDir);
    // unshare --mount=FILE needs FILE on a private mount.
    must("mount", ["--bind", nsDir, nsDir]);
    this.nsDirMounted = true;
    must("mount", ["--make-private", nsDir]);
    fs.writeFileSync(this.mntHandle, "");
    const mounts = OVERLAID.map((dir) => {
      const key = dir.slice(1).replace(/\//g, "_");
      const upper = path.join(this.root, "upper", key);
      const work = path.join(this.root, "work", key);
      fs.mkdirSync(upper, { recursive: true });
      fs.mkdirSync(work, { recursive: true });
      return `mount -t overlay overlay -o lowerdir=${dir},upperdir=${upper},workdir=${work} ${dir}`;
    });
    must("unshare", [`--mount=${this.mntHandle}`, "--propagation", "private", "sh", "-ec", mounts.join("\n")]);
    // sysfs as seen from the network namespace (ifupdown reads /sys/class/net).
    const r = this.sh("mount -t sysfs sysfs /sys && ip link set lo up");
    if (r.status !== 0) throw new Error(`sandbox ${this.name}: ${r.stderr}`);
  }

  /** Runs a program inside the host. */
  exec(argv: readonly string[], input?: string, env: NodeJS.ProcessEnv = {}): ExecResult {
    const r = spawnSync("nsenter", [`--mount=${this.mntHandle}`, `--net=/run/netns/${this.name}`, ...argv], {
      input,
      encoding: "utf8",
      env: { ...process.env, PATH: SBIN_PATH, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
  }

  /** Runs a shell command inside the host. */
  sh(command: string, input?: string): ExecResult {
    return this.exec(["sh", "-c", command], input);
  }

  /** Runs a script as a file inside the host, as Terraform's remote-exec does. */
  runScript(script: string, env: NodeJS.ProcessEnv = {}): ExecResult {
    this.scripts += 1;
    const file = path.join(this.root, `script-${this.scripts}.sh`);
    fs.writeFileSync(file, script, { mode: 0o700 });
    return this.exec([file], undefined, env);
  }

  /** Contents of a file inside the host, or undefined. */
  readFile(file: string): string | undefined {
    const r = this.exec(["cat", file]);
    return r.status === 0 ? r.stdout : undefined;
  }

  /** Writes a file inside the host (creating its directory). */
  writeFile(file: string, content: string, mode = "0644"): void {
    const r = this.exec(["sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"', "sh", file, mode], content);
    if (r.status !== 0) throw new Error(`write ${file} in ${this.name}: ${r.stderr}`);
  }

  /** PIDs of the processes living in this host's mount namespace. */
  pids(): number[] {
    if (!fs.existsSync(this.mntHandle)) return [];
    let ino: number;
    try {
      ino = fs.statSync(this.mntHandle).ino;
    } catch {
      return [];
    }
    return processesWhere((pid) => fs.statSync(`/proc/${pid}/ns/mnt`).ino === ino);
  }

  /** Ends every process started inside (by PID), then removes namespaces and files. Safe to call twice. */
  destroy(): void {
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      const pids = this.pids();
      for (const pid of pids) {
        try {
          process.kill(pid, signal);
        } catch {
          // already gone
        }
      }
      if (pids.length && signal === "SIGTERM") spawnSync("sleep", ["0.3"]);
    }
    if (this.nsDirMounted) {
      spawnSync("umount", [this.mntHandle]);
      spawnSync("umount", [path.join(this.root, "ns")]);
      this.nsDirMounted = false;
    }
    if (this.netnsCreated) {
      spawnSync("ip", ["netns", "del", this.name]);
      this.netnsCreated = false;
    }
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
