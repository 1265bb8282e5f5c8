/**
 * The lab: brings a synthesized stack up on real Linux hosts in network
 * namespaces, deploys it with real Terraform (cdktf deploy, terraform_data
 * engine), and probes every vhost and forwarding rule from a client on the
 * dom0's uplink. No hypervisor: guests are namespaces whose NICs are veth
 * pairs created by an xl stand-in from the deployed cfg.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ENGINE_CONTEXT_KEY } from "../deploy/engine";
import { LAB_CONTEXT_KEY, LabContext } from "../private/lab-context";
import { CLOSED_CANDIDATES, opens } from "../private/prove";
import { cidrContains, ipv4ToNumber } from "../validation/ipv4";
import { FLAVOUR } from "../private/cdk";
import { renderInterfaces } from "../render/interfaces";
import { networkdFiles } from "../render/networkd";
import { NETPLAN_PATH, renderNetplan } from "../render/netplan";
import type { Topology, TopologyDom0, TopologyGuest } from "../private/topology";
import type { PortRange, Protocol } from "../connections/port";
import type { GuestModel } from "../model";
import { shellAssignments, shellSource } from "../render/shell-source";
import { labHostKey, must, runLocal, startSshd, stubXenstore, writeBaseFiles } from "./hosts";
import { answered, probeHttp, probePing, probeSocket, ProbeResult } from "./probes";
import { FAR_CLIENTS, Reachability } from "../reachability";
import { CONF_KEYS } from "../reachability/sysctl";
import { descendants, killQuietly } from "./processes";
import { forgetRun, hostsDir, recordRun, removeDeadRuns, removedRunLine } from "./leftovers";
import { SandboxHost } from "./sandbox-host";
import { LabState, loadState, saveState } from "./state";
import { renderXlStandIn } from "./xl";

/** What a lab is built for: the project, its app command and the stack to deploy. */
export interface LabOptions {
  /** Directory the app command runs in. */
  readonly projectDir: string;
  /** The app command, as `app` in cdktf.json (e.g. `npx ts-node main.ts`). */
  readonly app: string;
  /** The stack to deploy. */
  readonly stack: string;
  /** Context for the app, besides the lab's own keys. */
  readonly context?: Record<string, unknown>;
  /**
   * The cdktf CLI.
   * @default - the nearest node_modules/.bin/cdktf from projectDir up, as npx finds it; else `cdktf` on PATH
   */
  readonly cdktf?: string;
  /** Progress lines. @default - silent */
  readonly log?: (line: string) => void;
  /**
   * A file to which the whole output of every deploy is appended.
   * @default - none
   */
  readonly deployLog?: string;
  /**
   * Values of the stack's Terraform variables (`TerraformVariable` ids),
   * passed as `TF_VAR_<name>`. A variable without a default and without a
   * value here gets one the lab chooses when the lab's deploy does not use it
   * (the SSH key and host key variables: the lab brings its own); one that
   * the deploy uses is refused before anything is built, naming it.
   * @default - none
   */
  readonly variables?: Record<string, string>;
}

/** A lab that cannot run as asked: its message says why and what to do. */
export class LabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LabError";
  }
}

/** What `Lab.plan` found: Terraform's exit code and output. */
export interface PlanResult {
  /** `terraform plan -detailed-exitcode`: 0 no changes, 1 an error, 2 changes. */
  readonly exitCode: number;
  /** Its output, standard output then standard error. */
  readonly output: string;
}

/** The negative control's probes: with the seed's hand-made guest network, then with the deployed one back. */
export interface NegativeControl {
  /** With the hand-made network: only each guest's first address may answer. */
  readonly handMade: ProbeResult[];
  /** With the deployed network restored: every address answers again. */
  readonly restored: ProbeResult[];
}

/** How one `cdktf deploy` into the lab went. */
export interface DeployResult {
  /** Terraform applied without error. */
  readonly ok: boolean;
  /** Wall-clock seconds of the deploy. */
  readonly seconds: number;
  /** Terraform's summary, e.g. `Apply complete! Resources: 1 added, 0 changed, 1 destroyed.` */
  readonly summary: string;
  /** Resources added, by that summary. */
  readonly added: number;
  /** Resources changed, by that summary. */
  readonly changed: number;
  /** Resources destroyed, by that summary. */
  readonly destroyed: number;
  /** The last lines of the output, for failures. */
  readonly tail: string;
  /** The whole output, without terminal colours. */
  readonly output: string;
  /** Every line of the output that warns (Terraform's and the deploy steps'), once each. */
  readonly warnings: string[];
  /** Probes run while the deploy ran. */
  readonly probesDuring: ProbeResult[];
}

/** Documentation addresses (RFC 5737) for the lab's own links. */
const MANAGEMENT = "198.51.100.0/24";
/** The page each vhost serves in the lab. */
export function labPage(vhost: string): string {
  return `cdktf-xen lab: ${vhost}\n`;
}
/** Where every lab guest finds a certificate and key for TLS vhosts. */
export const LAB_TLS_CERT = "/etc/ssl/cdktf-xen-lab/cert.pem";
/** Its private key. */
export const LAB_TLS_KEY = "/etc/ssl/cdktf-xen-lab/key.pem";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The highest host address of a subnet that nobody in the topology uses. */
function freeAddress(network: string, taken: Set<string>): string {
  const [base, prefix] = network.split("/");
  const first = ipv4ToNumber(base);
  for (let n = first + 2 ** (32 - Number(prefix)) - 2; n > first; n--) {
    const a = [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
    if (!taken.has(a)) return a;
  }
  throw new Error(`no free address in ${network} for the lab client`);
}

/**
 * A lab on this machine for one stack: a sandbox host per dom0 (network and
 * mount namespaces) with management links, clients on the uplinks, and a
 * stand-in `xl` that creates guests as sandbox hosts. Needs root.
 */
export class Lab {
  /**
   * Builds the dom0s, management links and clients of a stack. Until it is
   * destroyed, a SIGINT or SIGTERM to the process destroys it (and every other
   * lab of the process) before the process ends as the signal says: the lab
   * run, a test, whatever made it. A process that ends otherwise (SIGKILL,
   * a crash) cannot tear its labs down: each lab records its owner, and this
   * first removes every lab (and test run of this package's own tests) whose
   * owner is gone (see `leftovers.ts`), each said in the log.
   */
  static create(options: LabOptions): Lab {
    for (const r of removeDeadRuns()) options.log?.(removedRunLine(r));
    const prefix = `cx${process.pid % 10000}${Math.random().toString(36).slice(2, 5)}`;
    const workdir = fs.mkdtempSync(path.join(os.tmpdir(), `cdktf-xen-lab-${prefix}-`));
    try {
      recordRun(prefix, workdir);
    } catch (e) {
      fs.rmSync(workdir, { recursive: true, force: true });
      throw new LabError((e as Error).message);
    }
    const lab = new Lab(options, prefix, workdir);
    tearDownOnStop(lab);
    try {
      lab.setUp();
    } catch (e) {
      lab.destroy();
      throw e;
    }
    return lab;
  }

  private readonly hosts: SandboxHost[] = [];
  private readonly clients = new Map<string, { host: SandboxHost; address: string; far: string }>();
  private readonly stateFile: string;
  private topology!: Topology;
  /** Every probe run so far, in order. */
  readonly probes: ProbeResult[] = [];
  /** Every deploy so far, in order. */
  readonly deploys: DeployResult[] = [];
  /** What each guest whose vhosts did not answer looked like then, for the report. */
  private readonly findings: string[] = [];
  /**
   * Probes where the reachability model, reading the files on the lab's
   * hosts, predicted otherwise than what the kernel did; each with both.
   */
  readonly modelMismatches: string[] = [];
  /**
   * Probes whose outcome the files do not decide (either was expected) and
   * on which the model, rightly, said it cannot decide; each with its reason.
   */
  readonly modelAbstentions: string[] = [];
  /** How many probes the model was asked. */
  private modelChecked = 0;
  private readonly log: (line: string) => void;

  /** What the lab was created with. */
  readonly options: LabOptions;

  private constructor(
    options: LabOptions,
    /** Prefix of every namespace and link of this run. */
    readonly prefix: string,
    /** The run's working directory (the CLI's project, keys, state, captures); removed with the lab. */
    readonly workdir: string,
  ) {
    this.stateFile = path.join(workdir, "state.json");
    this.log = options.log ?? (() => undefined);
    this.options = { ...options, projectDir: path.resolve(options.projectDir) };
  }

  /** TF_VAR_ values for the deploy: the user's, and the lab's choice for variables the lab's deploy does not use. */
  private variables: Record<string, string> = {};

  private labContext(): LabContext {
    // Each dom0's key is pinned, as it should be in production: every deploy goes through Terraform's host-key check.
    const hostKey = (dom0Id: string) => fs.readFileSync(`${labHostKey(this.workdir, dom0Id, "dom0")}.pub`, "utf8").trim();
    return {
      stack: this.options.stack,
      hosts: Object.fromEntries(this.topology.dom0s.map((d, i) => [d.id, { host: `198.51.100.${4 * i + 2}`, port: d.sshPort, hostKey: hostKey(d.id) }])),
      privateKeyFile: path.join(this.workdir, "id_ed25519"),
      managementCidr: MANAGEMENT,
      // Not terraform.tfstate in the CLI's directory: cdktf would take it for a stack-less state.
      stateFile: path.join(this.workdir, "state", "lab.tfstate"),
    };
  }

  private context(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...this.options.context, ...extra, [ENGINE_CONTEXT_KEY]: "terraform_data", ...(this.topology ? { [LAB_CONTEXT_KEY]: this.labContext() } : {}) };
  }

  /** Runs the app with `context` into `out`; the stack's directory there. */
  private synth(out: string, context: Record<string, unknown>): string {
    const { app, projectDir, stack } = this.options;
    const r = spawnSync("sh", ["-c", app], { cwd: projectDir, encoding: "utf8", env: { ...process.env, CDKTF_OUTDIR: out, CDKTF_CONTEXT_JSON: JSON.stringify(context) } });
    if (r.status !== 0) {
      const said = (r.stderr || r.stdout || (r.error ? String(r.error) : "")).trimEnd().split("\n").slice(-25).join("\n");
      throw new LabError(`the app failed to synthesize (${app}, run in ${projectDir}, exit ${r.status}):\n${said}`);
    }
    const dir = path.join(out, "stacks", stack);
    if (!fs.existsSync(dir)) {
      const stacks = fs.existsSync(path.join(out, "stacks")) ? fs.readdirSync(path.join(out, "stacks")).sort() : [];
      throw new LabError(`stack "${stack}" is not in the app (${app}, run in ${projectDir}): ${stacks.length ? `its stacks are ${stacks.join(", ")}` : "it synthesized no stack"}; pass one of them as --stack`);
    }
    if (!fs.existsSync(path.join(dir, "topology.json"))) throw new LabError(`stack "${stack}" has no XenHost: the lab has nothing to build`);
    const tf = JSON.parse(fs.readFileSync(path.join(dir, "cdk.tf.json"), "utf8"));
    const backend = Object.keys(tf.terraform?.backend ?? {});
    if (backend.some((b) => b !== "local")) {
      throw new LabError(`stack ${stack} uses the ${backend.join(", ")} backend: the lab deploys only stacks with the local backend, so that it can never touch real state`);
    }
    const foreign = outsideTheLab(tf);
    if (foreign.length) {
      throw new LabError(
        `stack ${stack} holds what the lab's deploy would create, run or read outside the lab: ${foreign.join(", ")}; the lab deploys only the steps ${FLAVOUR.pkg} generates: keep the rest in another stack`,
      );
    }
    return dir;
  }

  /**
   * Synthesizes the app as the lab deploys it, with `extra` context, into a
   * new directory under the lab's; returns the stack's directory (it goes
   * with the lab).
   */
  synthesize(extra: Record<string, unknown> = {}): string {
    return this.synth(fs.mkdtempSync(path.join(this.workdir, "synth-")), this.context(extra));
  }

  /** Runs the app once without lab addresses, to read the stack's topology. */
  private readTopology(extra: Record<string, unknown> = {}): Topology {
    const out = fs.mkdtempSync(path.join(this.workdir, "topology-"));
    try {
      return JSON.parse(fs.readFileSync(path.join(this.synth(out, { ...this.options.context, ...extra, [ENGINE_CONTEXT_KEY]: "terraform_data" }), "topology.json"), "utf8"));
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }

  /**
   * The stack's Terraform variables without a default, as the lab deploys
   * it: the user's values; for one the deploy does not use, a value the lab
   * chooses (Terraform asks for every such variable, used or not); one the
   * deploy uses and no value was given for is refused here, before anything
   * is built, rather than a prompt that waits for ever.
   */
  private chooseVariables(): void {
    const out = fs.mkdtempSync(path.join(this.workdir, "variables-"));
    try {
      const json = JSON.parse(fs.readFileSync(path.join(this.synth(out, this.context()), "cdk.tf.json"), "utf8"));
      const declared: Record<string, { type?: string; default?: unknown }> = json.variable ?? {};
      const rest = JSON.stringify({ ...json, variable: undefined });
      const given = this.options.variables ?? {};
      const needed: string[] = [];
      const chosen: Record<string, string> = {};
      for (const [name, v] of Object.entries(declared)) {
        if (name in given || "default" in v) continue;
        if (new RegExp(`\\bvar\\.${name.replace(/[^A-Za-z0-9_-]/g, "")}\\b`).test(rest)) needed.push(name);
        else chosen[name] = unusedValue(v.type);
      }
      if (needed.length) {
        throw new LabError(`stack ${this.options.stack} needs values for ${needed.map((n) => `variable "${n}"`).join(", ")}, which the lab's deploy uses: pass ${needed.map((n) => `--var ${n}=VALUE`).join(" ")} (in the API: variables)`);
      }
      for (const name of Object.keys(chosen)) this.log(`variable ${name}: not used by the lab's deploy (the lab brings its own SSH keys); given a placeholder`);
      this.variables = { ...chosen, ...given };
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }

  /** The environment of every Terraform run: the variables, and never a prompt. */
  private terraformEnv(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      ...Object.fromEntries(Object.entries(this.variables).map(([k, v]) => [`TF_VAR_${k}`, v])),
      TF_INPUT: "0",
      CHECKPOINT_DISABLE: "1",
      TF_IN_AUTOMATION: "1",
      TF_CLI_CONFIG_FILE: path.join(this.workdir, "terraformrc"),
    };
  }

  private setUp(): void {
    // Every lab uses the same management network: a second one would take routes the first one's SSH needs.
    const taken = runLocal("ip", ["-o", "-4", "addr", "show", "to", MANAGEMENT]).stdout.split("\n").flatMap((l) => {
      const m = /^\d+:\s+(\S+)\s+inet\s+(\S+)/.exec(l);
      return m ? [`${m[2]} on ${m[1]}`] : [];
    });
    if (taken.length) {
      throw new LabError(`the lab's management network ${MANAGEMENT} is in use on this machine (${taken.join(", ")}): another lab is running (run one lab at a time), or something other than a lab holds it (a lab whose process was killed is removed before this check)`);
    }
    const w = this.workdir;
    must(runLocal("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "cdktf-xen-lab", "-f", path.join(w, "id_ed25519")]), "ssh-keygen");
    fs.copyFileSync(path.join(w, "id_ed25519.pub"), path.join(w, "authorized_keys"));
    const parser = path.join(w, "xlcfg-parse");
    must(runLocal("gcc", ["-O2", "-o", parser, path.join(__dirname, "xlcfg-parse.c"), "-lxlutil"]), "compiling the libxlutil parser");
    must(runLocal("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=cdktf-xen-lab", "-days", "2", "-keyout", path.join(w, "tls.key"), "-out", path.join(w, "tls.pem")]), "openssl");
    fs.writeFileSync(path.join(w, "terraformrc"), "");
    this.topology = this.readTopology();
    this.chooseVariables();
    const seeds = this.seeds();
    const state: LabState = {
      prefix: this.prefix,
      workdir: w,
      parser,
      authorizedKeys: path.join(w, "authorized_keys"),
      topology: this.topology,
      seeds,
      dom0s: {},
      guests: {},
      nextGuest: 1,
    };
    this.topology.dom0s.forEach((d, i) => this.buildDom0(d, i, state));
    saveState(this.stateFile, state);

    fs.writeFileSync(
      path.join(w, "cdktf.json"),
      JSON.stringify({ language: "typescript", app: `cd '${this.options.projectDir}' && ${this.options.app}`, output: path.join(w, "cdktf.out"), sendCrashReports: "false", context: this.context() }, null, 2),
    );
  }

  /** What each guest of the topology finds at its first boot: the lab's certificate and key, a page per vhost. */
  private seeds(): LabState["seeds"] {
    const w = this.workdir;
    const tls = [
      { path: LAB_TLS_CERT, content: fs.readFileSync(path.join(w, "tls.pem"), "utf8"), mode: "0644" },
      { path: LAB_TLS_KEY, content: fs.readFileSync(path.join(w, "tls.key"), "utf8"), mode: "0600" },
    ];
    const seeds: LabState["seeds"] = {};
    for (const g of this.topology.dom0s.flatMap((d) => d.guests)) {
      seeds[g.model.name] = [...tls, ...g.vhosts.map((v) => ({ path: `${v.documentRoot}/index.html`, content: labPage(v.name), mode: "0644" }))];
    }
    return seeds;
  }

  /**
   * The topology of a new phase (the app with other context): guests and
   * vhosts may come and go; the dom0s and their uplinks, which the lab built,
   * must stay. Guests created from here on find their pages, and running
   * guests get the pages of their new vhosts.
   */
  private adoptTopology(next: Topology): void {
    const refused = phaseRefusal(this.topology, next);
    if (refused) throw new LabError(refused);
    this.topology = next;
    const state = loadState(this.stateFile);
    const seeds = this.seeds();
    saveState(this.stateFile, { ...state, topology: next, seeds });
    for (const d of next.dom0s) {
      for (const g of d.guests) {
        const host = this.guestHost(d.id, g.model.name);
        for (const f of host ? seeds[g.model.name] : []) host!.writeFile(f.path, f.content, f.mode);
      }
    }
  }

  private buildDom0(d: TopologyDom0, i: number, state: LabState): void {
    const dom0 = SandboxHost.create(`${this.prefix}d${i}`, hostsDir(this.workdir));
    this.hosts.push(dom0);
    (state.dom0s as Record<string, unknown>)[d.id] = { netns: dom0.name, root: dom0.root };
    writeBaseFiles(dom0, d.id);
    // Management link: the machine (Terraform) <-> the dom0's sshd.
    const mgmt = `${this.prefix}m${i}`;
    must(runLocal("ip", ["link", "add", mgmt, "type", "veth", "peer", "name", "mgmt0", "netns", dom0.name]), "management link");
    must(runLocal("ip", ["addr", "add", `198.51.100.${4 * i + 1}/30`, "dev", mgmt]), "management address");
    must(runLocal("ip", ["link", "set", mgmt, "up"]), "management link up");
    must(dom0.sh(`ip addr add 198.51.100.${4 * i + 2}/30 dev mgmt0 && ip link set mgmt0 up`), "dom0 management address");
    // Uplink, with a client on the other end.
    const client = SandboxHost.create(`${this.prefix}c${i}`, hostsDir(this.workdir));
    this.hosts.push(client);
    writeBaseFiles(client, `client${i}`);
    const up = d.uplink;
    // Links are made from the machine's namespace: inside a host /run is its own.
    must(runLocal("ip", ["link", "add", up.device, "netns", dom0.name, "type", "veth", "peer", "name", "eth0", "netns", client.name]), "uplink");
    must(dom0.sh(`ip addr add ${up.address.address}/${up.address.prefix} dev ${up.device} && ip link set ${up.device} up`), "uplink address");
    const taken = new Set([up.address.address, ...d.guests.flatMap((g) => g.model.vifs.map((v) => v.address.address))]);
    const address = freeAddress(up.address.network, taken);
    must(client.sh(`ip addr add ${address}/${up.address.prefix} dev eth0 && ip link set eth0 up && ip route add default via ${up.address.address}`), "client address");
    // The client is also the uplink's router, with a client behind it: an address of its own outside the
    // uplink's subnet, and the dom0's default route through it (what a dom0 has toward the Internet).
    const far = FAR_CLIENTS.find((a) => !cidrContains(up.address.network, a) && !taken.has(a))!;
    must(client.sh(`ip addr add ${far}/32 dev lo && ip link set lo up`), "client behind the router");
    must(dom0.sh(`ip route add default via ${address} dev ${up.device}`), "the dom0's default route");
    this.clients.set(d.id, { host: client, address, far });
    // Xen's hotplug scripts with xenstore stubbed, the xl stand-in, sshd.
    stubXenstore(dom0, this.workdir);
    const cli = path.join(__dirname, `cli${path.extname(__filename)}`);
    // From a checkout the CLI is TypeScript: ts-node with this package's tsconfig, whatever the cwd.
    const callback = {
      node: process.execPath,
      cli,
      ...(__filename.endsWith(".ts") ? { tsNode: { register: require.resolve("ts-node/register/transpile-only"), project: path.resolve(__dirname, "../../tsconfig.json") } } : {}),
    };
    dom0.writeFile("/usr/local/sbin/xl", renderXlStandIn({ stateFile: this.stateFile, dom0: d.id, parser: path.join(this.workdir, "xlcfg-parse"), callback, lock: path.join(this.workdir, "xl.lock"), controllerPid: process.pid }), "0755");
    startSshd(dom0, this.workdir, `198.51.100.${4 * i + 2}`, d.sshPort, labHostKey(this.workdir, d.id, "dom0"));
    this.log(`dom0 ${d.id}: netns ${dom0.name}, sshd on 198.51.100.${4 * i + 2}:${d.sshPort}, client ${address}`);
  }

  /** A dom0's sandbox. */
  dom0Host(id: string): SandboxHost | undefined {
    const r = loadState(this.stateFile).dom0s[id];
    return r ? SandboxHost.attach(r.netns, r.root) : undefined;
  }

  /** The guest's sandbox, once the deploy has created it. */
  guestHost(dom0: string, name: string): SandboxHost | undefined {
    const r = loadState(this.stateFile).guests[`${dom0}/${name}`];
    return r ? SandboxHost.attach(r.netns, r.root) : undefined;
  }

  /**
   * `cdktf deploy --auto-approve` (`cdktn deploy` in the cdktn flavour) with the lab's context. `probe` runs
   * repeatedly while the deploy runs (to show that other sites keep answering).
   */
  async deploy(opts: { context?: Record<string, unknown>; probeDuring?: () => ProbeResult[] } = {}): Promise<DeployResult> {
    if (opts.context) {
      // The context of every deploy from here on: the probes after it ask the topology it deploys.
      this.adoptTopology(this.readTopology(opts.context));
      const cfg = JSON.parse(fs.readFileSync(path.join(this.workdir, "cdktf.json"), "utf8"));
      cfg.context = this.context(opts.context);
      fs.writeFileSync(path.join(this.workdir, "cdktf.json"), JSON.stringify(cfg, null, 2));
    }
    const started = Date.now();
    const cdktf = this.options.cdktf ?? cdktfCli(this.options.projectDir);
    const child = spawn(cdktf, ["deploy", "--auto-approve", this.options.stack], {
      cwd: this.workdir,
      env: { ...this.terraformEnv(), FORCE_COLOR: "0", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.deploying = child.pid;
    let output = "";
    child.stdout.on("data", (b) => (output += b));
    child.stderr.on("data", (b) => (output += b));
    const exit = new Promise<number>((resolve) => {
      child.on("close", (code) => resolve(code ?? -1));
      // A CLI that cannot be run fails this deploy; the run goes on to tear the lab down.
      child.on("error", (e) => {
        output += `cannot run ${cdktf}: ${e.message}\n`;
        resolve(-1);
      });
    });
    let done = false;
    void exit.then(() => (done = true));
    const during: ProbeResult[] = [];
    while (!done) {
      if (opts.probeDuring) during.push(...opts.probeDuring());
      await sleep(opts.probeDuring ? 200 : 500);
    }
    const code = await exit;
    this.deploying = undefined;
    if (this.options.deployLog) fs.appendFileSync(this.options.deployLog, `$ ${cdktf} deploy --auto-approve ${this.options.stack}\n${output}`);
    const clean = output.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
    const apply = /Apply complete! Resources: (\d+) added, (\d+) changed, (\d+) destroyed\./.exec(clean);
    const none = /No changes\./.test(clean);
    const result: DeployResult = {
      ok: code === 0,
      seconds: (Date.now() - started) / 1000,
      summary: apply ? apply[0] : none ? "No changes." : "",
      added: apply ? Number(apply[1]) : 0,
      changed: apply ? Number(apply[2]) : 0,
      destroyed: apply ? Number(apply[3]) : 0,
      tail: clean.split("\n").filter((l) => l.trim() && !/^[\u2800-\u28ff]/.test(l.trim())).slice(-40).join("\n"),
      output: clean,
      warnings: [...new Set(clean.split("\n").map((l) => l.trim()).filter((l) => /warning/i.test(l)))],
      probesDuring: during,
    };
    this.probes.push(...during);
    this.deploys.push(result);
    this.log(`deploy: ${result.ok ? "ok" : "FAILED"} in ${result.seconds.toFixed(1)} s: ${result.summary || "(no summary)"}`);
    return result;
  }

  /** `terraform plan -detailed-exitcode` on the last synthesized stack: 0 no changes, 2 changes. */
  plan(): PlanResult {
    const dir = path.join(this.workdir, "cdktf.out", "stacks", this.options.stack);
    const r = spawnSync("terraform", [`-chdir=${dir}`, "plan", "-detailed-exitcode", "-input=false", "-no-color", "-lock=false"], { encoding: "utf8", env: this.terraformEnv() });
    return { exitCode: r.status ?? -1, output: (r.stdout ?? "") + (r.stderr ?? "") };
  }

  private client(dom0: string): { host: SandboxHost; address: string; far: string } {
    const c = this.clients.get(dom0);
    if (!c) throw new Error(`no client for ${dom0}`);
    return c;
  }

  /**
   * HTTP(S) probes of one guest's vhosts; `answers(address)` says which addresses should answer.
   * @internal
   */
  probeGuest(dom0: string, guest: TopologyGuest, phase: string, answers: (address: string, from: string) => boolean | "either" = () => true): ProbeResult[] {
    const { host, address: near, far } = this.client(dom0);
    const out: ProbeResult[] = [];
    // From the uplink's subnet, then from behind its router (the reply goes back through the guest's gateway).
    for (const from of [near, far]) {
      for (const v of guest.vhosts) {
        for (const [port, tls] of [...v.httpPorts.map((p) => [p, false] as const), ...(v.tls ? [[v.tls.port, true] as const] : [])]) {
          const r = probeHttp(host, { address: v.address, port, serverName: v.serverName, body: labPage(v.name), tls, ...(from === far ? { from } : {}) }, phase, answers(v.address, from));
          out.push({ ...r, flow: { from, to: v.address, port, apache: true } });
        }
      }
    }
    return out;
  }

  /**
   * Every vhost answers with its own page on each address:port, from both
   * clients; every port a ForwardRule opens, TCP or UDP, passes from each
   * client among the rule's sources and is dropped from the others (and,
   * where the rule names source ports, from a source port outside them);
   * a TCP port no rule opens is dropped.
   */
  probeAll(phase: string): ProbeResult[] {
    const out: ProbeResult[] = [];
    for (const d of this.topology.dom0s) {
      const start = out.length;
      const { host, address: clientAddress, far } = this.client(d.id);
      for (const g of d.guests) {
        const probes = this.probeGuest(d.id, g, phase);
        out.push(...probes);
        if (probes.some((p) => !p.ok)) this.findings.push(this.inspectGuest(d.id, g.model.name, phase));
      }
      const vhostPorts = new Set(d.guests.flatMap((g) => g.vhosts.flatMap((v) => [...v.httpPorts.map((p) => `${v.address}:${p}`), ...(v.tls ? [`${v.address}:${v.tls.port}`] : [])])));
      // Every port the rules open, TCP and UDP (the first of each range), from both clients; where a rule
      // names source ports, from one inside them and from one outside. Open when some accept takes that packet.
      const sockets = new Map<string, { readonly protocol: Protocol; readonly address: string; readonly port: number; readonly sourcePorts: PortRange[] }>();
      for (const a of d.accepts) {
        for (const r of a.ports) {
          const key = `${a.protocol} ${a.address}:${r.from}`;
          const socket = sockets.get(key) ?? { protocol: a.protocol, address: a.address, port: r.from, sourcePorts: [] };
          socket.sourcePorts.push(...a.sourcePorts);
          sockets.set(key, socket);
        }
      }
      const admits = (q: { protocol: Protocol; address: string; port: number; from: string; sourcePort?: number }) =>
        d.accepts.some((a) => a.protocol === q.protocol && a.address === q.address && opens(a.ports, q.port) && cidrContains(a.source, q.from) && (!a.sourcePorts.length || (q.sourcePort !== undefined && opens(a.sourcePorts, q.sourcePort))));
      for (const { protocol, address, port, sourcePorts } of sockets.values()) {
        if (protocol === "tcp" && vhostPorts.has(`${address}:${port}`) && !sourcePorts.length) continue;
        if (protocol === "udp") this.startUdpEcho(d, address, port);
        const outside = portOutside(sourcePorts);
        const bySourcePort = sourcePorts.length ? [sourcePorts[0].from, ...(outside !== undefined ? [outside] : [])] : [undefined];
        for (const from of [clientAddress, far]) {
          for (const sourcePort of bySourcePort) {
            const probe = { protocol, address, port, ...(from === far ? { from } : {}), ...(sourcePort !== undefined ? { sourcePort } : {}) };
            out.push({ ...probeSocket(host, probe, admits({ protocol, address, port, from, sourcePort }), phase), flow: { from, to: address, port, protocol, ...(sourcePort !== undefined ? { sourcePort } : {}) } });
          }
        }
      }
      for (const g of d.guests) {
        const address = g.model.vifs[0].address.address;
        const closed = CLOSED_CANDIDATES.find((p) => !d.accepts.some((a) => a.protocol === "tcp" && a.address === address && opens(a.ports, p)))!;
        out.push({ ...probeSocket(host, { protocol: "tcp", address, port: closed }, false, phase), flow: { from: clientAddress, to: address, port: closed } });
      }
      this.crossCheck(d, out.slice(start));
    }
    this.probes.push(...out);
    for (const p of out) this.log(`${p.ok ? "PASS" : "FAIL"} ${p.phase}: ${p.kind} ${p.target}: ${p.detail} (${p.ms} ms)`);
    return out;
  }

  /**
   * Sockets of one dom0's guests probed from its client on the uplink (or,
   * with `far`, from the one behind its router), each expected to pass the
   * firewall or be dropped, whatever the stack opens: for firewalls edited
   * by hand. The model is asked every probe's flow, as with probeAll.
   * @internal
   */
  probeSockets(dom0: string, sockets: readonly { readonly protocol: Protocol; readonly address: string; readonly port: number; readonly far?: boolean; readonly open: boolean }[], phase: string): ProbeResult[] {
    const d = this.topology.dom0s.find((x) => x.id === dom0);
    if (!d) throw new Error(`no dom0 ${dom0} in the lab`);
    const { host, address: near, far } = this.client(dom0);
    const out = sockets.map(({ protocol, address, port, far: fromFar, open }) => {
      const probe = { protocol, address, port, ...(fromFar ? { from: far } : {}) };
      return { ...probeSocket(host, probe, open, phase), flow: { from: fromFar ? far : near, to: address, port, protocol } };
    });
    this.crossCheck(d, out);
    this.probes.push(...out);
    for (const p of out) this.log(`${p.ok ? "PASS" : "FAIL"} ${p.phase}: ${p.kind} ${p.target}: ${p.detail} (${p.ms} ms)`);
    return out;
  }

  /**
   * Ports of one dom0's own uplink address probed from its client on the
   * uplink (or, with `far`, from the one behind its router), each expected to
   * pass the dom0's input firewall (connected, or refused where nothing
   * listens) or be dropped. The model's verdict of the input firewall for the
   * same packet (Reachability._toDom0) must be what the kernel did.
   * @internal
   */
  probeDom0(dom0: string, ports: readonly { readonly protocol: Protocol; readonly port: number; readonly far?: boolean; readonly open: boolean }[], phase: string): ProbeResult[] {
    return this.probeFirewall(dom0, ports, phase, ({ protocol, port, far: fromFar, open }, c, model) => ({
      probe: probeSocket(c.host, { protocol, address: c.dom0.uplink.address.address, port, ...(fromFar ? { from: c.far } : {}) }, open, phase),
      said: model._toDom0({ protocol, from: fromFar ? c.far : c.near, port }),
    }));
  }

  /**
   * Pings (ICMP echo requests) of guest addresses of one dom0 from its client
   * on the uplink (or, with `far`, from the one behind its router), each
   * expected to come back or be dropped. The model's verdict of the dom0's
   * forward firewalls for the same echo request (Reachability._ping) must be
   * what the kernel did; the rest of the path is the one the socket probes of
   * the same addresses take.
   * @internal
   */
  probePings(dom0: string, targets: readonly { readonly address: string; readonly far?: boolean; readonly open: boolean }[], phase: string): ProbeResult[] {
    return this.probeFirewall(dom0, targets, phase, ({ address, far: fromFar, open }, c, model) => ({
      probe: probePing(c.host, address, fromFar ? c.far : undefined, open, phase),
      said: model._ping({ from: fromFar ? c.far : c.near, to: address }),
    }));
  }

  /**
   * Probes of one dom0's firewall from its clients, each beside the model's
   * verdict of the firewall for the same packet (none: the model has no path
   * for it): a verdict that is not what the kernel did is a mismatch.
   */
  private probeFirewall<T>(
    dom0: string,
    items: readonly T[],
    phase: string,
    run: (item: T, c: { readonly dom0: TopologyDom0; readonly host: SandboxHost; readonly near: string; readonly far: string }, model: Reachability) => { readonly probe: ProbeResult; readonly said?: { readonly outcome: string; readonly text: string } },
  ): ProbeResult[] {
    const d = this.topology.dom0s.find((x) => x.id === dom0);
    if (!d) throw new Error(`no dom0 ${dom0} in the lab`);
    const { host, address: near, far } = this.client(dom0);
    const model = this.modelOf(d);
    const out = items.map((item) => {
      const { probe, said } = run(item, { dom0: d, host, near, far }, model);
      this.modelChecked += 1;
      if (said?.outcome !== (answered(probe) ? "pass" : "drop")) {
        const line = `${phase}: ${probe.kind} ${probe.target}: the kernel: ${answered(probe) ? "let it through" : "dropped it"} (${probe.detail}); the model: ${said ? `${said.outcome}: ${said.text}` : "no path for it"}`;
        this.modelMismatches.push(line);
        this.log(`MODEL MISMATCH ${line}`);
      }
      return probe;
    });
    this.probes.push(...out);
    for (const p of out) this.log(`${p.ok ? "PASS" : "FAIL"} ${p.phase}: ${p.kind} ${p.target}: ${p.detail} (${p.ms} ms)`);
    return out;
  }

  /** Starts the lab's UDP echo on the guest that has `address` (sh/udp-echo.sh), unless one listens there. */
  private startUdpEcho(d: TopologyDom0, address: string, port: number): void {
    const guest = d.guests.find((g) => g.model.vifs.some((v) => v.address.address === address || v.additional.some((a) => a.address === address)));
    const host = guest && this.guestHost(d.id, guest.model.name);
    if (!host) return; // no such guest running: the probe sees the black hole
    must(host.runScript(`#!/bin/sh\n${shellAssignments([["ADDRESS", address], ["PORT", String(port)]])}${shellSource(__dirname, "sh/udp-echo.sh")}\n`), `the UDP echo on ${guest!.model.name} ${address}:${port}`);
  }

  /**
   * The reachability model of one dom0, read from the files on the lab's
   * hosts now (the paths the stack's preview lists), with the kernel
   * settings the lab's namespaces start from: those of this machine, which
   * a new network namespace inherits.
   * @internal
   */
  modelOf(d: TopologyDom0): Reachability {
    const preview = path.join(this.workdir, "cdktf.out", "stacks", this.options.stack, "hosts");
    const live = (host: SandboxHost | undefined, id: string) => {
      const files: Record<string, string> = {};
      const dir = path.join(preview, id);
      const walk = (rel: string) => {
        for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
          const p = `${rel}/${e.name}`;
          if (e.isDirectory()) walk(p);
          else {
            const content = host?.readFile(p);
            if (content !== undefined) files[p] = content;
          }
        }
      };
      if (fs.existsSync(dir)) walk("");
      return files;
    };
    const baseline = machineSysctls();
    return Reachability.fromFiles({
      dom0: { id: d.id, uplink: { device: d.uplink.device, address: `${d.uplink.address.address}/${d.uplink.address.prefix}` }, files: live(this.dom0Host(d.id), d.id), baseline },
      guests: Object.fromEntries(d.guests.map((g) => [g.model.name, live(this.guestHost(d.id, g.model.name), g.id)])),
      guestBaseline: baseline,
    });
  }

  /** Asks the model every probe's flow; a verdict that is not what the kernel did is a mismatch. */
  private crossCheck(d: TopologyDom0, probes: readonly ProbeResult[]): void {
    const model = this.modelOf(d);
    for (const p of probes) {
      if (!p.flow) continue;
      const v = model.flow(p.flow);
      this.modelChecked += 1;
      const kernel = answered(p);
      if (v.ok === kernel && v.forward !== "unknown" && v.reply !== "unknown") continue;
      if (p.undetermined && (v.forward === "unknown" || v.reply === "unknown")) {
        this.modelAbstentions.push(`${p.phase}: ${p.kind} ${p.target}: ${v.summary}`);
        continue;
      }
      const said = v.ok ? "answered" : v.forward === "unknown" || v.reply === "unknown" ? "could not decide" : "no answer";
      const line = `${p.phase}: ${p.kind} ${p.target}: the kernel: ${kernel ? "answered" : "no answer"} (${p.detail}); the model: ${said}: ${v.summary}`;
      this.modelMismatches.push(line);
      this.log(`MODEL MISMATCH ${line}`);
    }
  }

  /** A guest's listening sockets, Apache processes and the end of Apache's error log. */
  private inspectGuest(dom0: string, name: string, phase: string): string {
    const host = this.guestHost(dom0, name);
    if (!host) return `${phase}: guest ${name} is not running`;
    const apache = host.pids().filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("apache2");
      } catch {
        return false;
      }
    });
    const r = host.sh("echo '# listening'; ss -Hltn; echo '# /var/log/apache2/error.log'; tail -n 15 /var/log/apache2/error.log 2>&1");
    return [`${phase}: guest ${name}: apache2 processes ${apache.join(" ") || "none"}`, ...(r.stdout + r.stderr).trimEnd().split("\n")].join("\n    | ");
  }

  /**
   * The seed's hand-made guest network (no policy routing) on every guest
   * with more than one vif: only the first address may answer. Then the
   * deployed network comes back and everything answers again.
   */
  negativeControl(): NegativeControl {
    const handMade: ProbeResult[] = [];
    const restored: ProbeResult[] = [];
    for (const d of this.topology.dom0s) {
      for (const g of d.guests.filter((x) => x.model.vifs.length > 1)) {
        const host = this.guestHost(d.id, g.model.name);
        if (!host) throw new Error(`guest ${g.model.name} is not running`);
        const byHand = { ...g.model, policyRouting: false };
        const networkd = g.model.network !== "ifupdown";
        const netplan = g.model.network === "netplan";
        // The files the network of the guest comes from, as deployed, and as written by hand.
        const written = (m: GuestModel) => (netplan ? [{ path: NETPLAN_PATH, content: renderNetplan(m) }] : networkd ? networkdFiles(m) : [{ path: "/etc/network/interfaces", content: renderInterfaces(m) }]);
        const ours = written(g.model).map((f) => f.path);
        const deployed = ours.map((p) => {
          const text = host.readFile(p);
          if (text === undefined) throw new Error(`guest ${g.model.name} has no ${p}`);
          return { path: p, content: text };
        });
        const swap = (files: readonly { path: string; content: string }[]) => {
          if (networkd) {
            for (const f of files) host.writeFile(f.path, f.content, netplan ? "0600" : "0644");
            must(host.sh(`${netplan ? "netplan generate && " : ""}networkctl reload && networkctl reconfigure ${g.model.vifs.map((v) => v.device).join(" ")}`), "networkctl");
            // networkd applies in the background: its policy rules are the last it changes.
            const want = files.some((f) => f.content.includes("[RoutingPolicyRule]") || f.content.includes("routing-policy:")) ? g.model.vifs.length : 0;
            must(host.sh(`i=0; until [ "$(ip -4 rule show | grep -c 'lookup 1[0-9][0-9] ')" = ${want} ]; do i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done`), "networkd's rules");
          } else {
            must(host.sh("ifdown -a"), "ifdown");
            host.writeFile("/etc/network/interfaces", files[0].content);
            must(host.sh("ifup -a"), "ifup");
          }
        };
        swap(written(byHand));
        const first = g.model.vifs[0].address.address;
        // From behind the router only the first address answers. On the uplink's subnet under networkd, the
        // address whose interface's prefix route networkd added first answers: the files do not say which.
        const near = this.client(d.id).address;
        const hand = this.probeGuest(d.id, g, "negative control: hand-made network", (a, from) => (networkd && from === near ? "either" : a === first));
        this.crossCheck(d, hand);
        handMade.push(...hand);
        swap(deployed);
        const back = this.probeGuest(d.id, g, "deployed network restored");
        this.crossCheck(d, back);
        restored.push(...back);
      }
    }
    this.probes.push(...handMade, ...restored);
    for (const p of [...handMade, ...restored]) this.log(`${p.ok ? "PASS" : "FAIL"} ${p.phase}: ${p.kind} ${p.target}: ${p.detail} (${p.ms} ms)`);
    return { handMade, restored };
  }

  /**
   * The topology the lab was built from.
   * @internal
   */
  get stackTopology(): Topology {
    return this.topology;
  }

  /** Lines the report shows after the deploys. */
  private readonly notes: string[] = [];

  /** Adds a line to the report (and the log). */
  note(line: string): void {
    this.notes.push(line);
    this.log(line);
  }

  /** A readable report of every deploy and probe. */
  report(): string {
    const lines = [`cdktf-xen lab ${this.prefix}: stack ${this.options.stack}`];
    this.deploys.forEach((d, i) => {
      lines.push(`deploy ${i + 1}: ${d.ok ? "ok" : "FAILED"} in ${d.seconds.toFixed(1)} s  ${d.summary}`);
      lines.push(...d.warnings.map((w) => `    ${w}`));
      if (!d.ok) lines.push(...d.tail.split("\n").map((l) => `    | ${l}`));
    });
    lines.push(...this.notes);
    for (const p of this.probes) {
      lines.push(`${p.ok ? "PASS" : "FAIL"}  ${p.phase.padEnd(36)} ${p.kind.padEnd(11)} ${p.target.padEnd(44)} ${String(p.ms).padStart(5)} ms  ${p.ok ? "" : `expected ${p.expect}, saw `}${p.detail}`);
    }
    const failed = this.probes.filter((p) => !p.ok).length;
    const checked = this.modelChecked;
    lines.push(
      this.modelMismatches.length
        ? `the reachability model disagreed with the kernel on ${this.modelMismatches.length} of ${checked} probes:`
        : `the reachability model agreed with the kernel on all ${checked - this.modelAbstentions.length} probes it decided${this.modelAbstentions.length ? `, and could not decide ${this.modelAbstentions.length} whose outcome the files do not decide either` : ""}`,
      ...this.modelMismatches.map((m) => `    ${m}`),
    );
    lines.push(`${this.probes.length - failed} passed, ${failed} failed`, ...this.findings);
    return lines.join("\n");
  }

  /** The cdktf deploy running now, if any: its process and everything it started end with the lab. */
  private deploying?: number;

  /** Ends every process and removes every namespace, link and file of this run. Safe to call twice. */
  destroy(): void {
    stopWatching(this);
    // cdktf runs Terraform on a terminal of its own (a session of its own): the whole tree, by PID.
    if (this.deploying !== undefined) for (const pid of descendants(this.deploying).concat(this.deploying)) killQuietly(pid);
    this.deploying = undefined;
    if (fs.existsSync(this.stateFile)) {
      const state = loadState(this.stateFile);
      for (const g of Object.values(state.guests)) SandboxHost.attach(g.netns, g.root).destroy();
      state.guests = {};
      saveState(this.stateFile, state);
    }
    for (const h of this.hosts.splice(0)) h.destroy();
    fs.rmSync(this.workdir, { recursive: true, force: true });
    forgetRun(this.prefix);
  }
}

/** The labs of this process not yet destroyed. */
const live = new Set<Lab>();

/** Destroys every live lab, then ends the process as `signal` says (the handler is gone by then). */
function onStop(signal: NodeJS.Signals): void {
  for (const lab of [...live]) lab.destroy();
  process.kill(process.pid, signal);
}

/** Has `lab` destroyed if the process is told to stop (SIGINT, SIGTERM) while it lives. */
function tearDownOnStop(lab: Lab): void {
  if (!live.size) {
    process.once("SIGINT", onStop);
    process.once("SIGTERM", onStop);
  }
  live.add(lab);
}

/** `lab` is destroyed: with no lab left, the process stops as it would without them. */
function stopWatching(lab: Lab): void {
  if (!live.delete(lab) || live.size) return;
  process.removeListener("SIGINT", onStop);
  process.removeListener("SIGTERM", onStop);
}

/** A value of a variable's type that nothing reads: Terraform asks for every variable without a default, used or not. */
function unusedValue(type: string | undefined): string {
  const t = type ?? "string";
  return t === "number" ? "0" : t === "bool" ? "false" : /^(list|set|tuple)/.test(t) ? "[]" : /^(map|object)/.test(t) ? "{}" : "unused in the lab";
}

/** The kernel settings of this machine's own namespace that the model reads: new namespaces start from them. */
function machineSysctls(): Record<string, number> {
  const out: Record<string, number> = {};
  const read = (file: string, key: string) => {
    const v = Number(fs.readFileSync(file, "utf8").trim());
    if (Number.isInteger(v)) out[key] = v;
  };
  read("/proc/sys/net/ipv4/ip_forward", "net.ipv4.ip_forward");
  for (const i of ["all", "default"]) for (const k of CONF_KEYS) read(`/proc/sys/net/ipv4/conf/${i}/${k}`, `net.ipv4.conf.${i}.${k}`);
  return out;
}

/**
 * The CDK's CLI of a project (`cdktf`, or `cdktn` for the cdktn flavour):
 * the nearest node_modules/.bin/<cli> from `dir` up, as npx finds it (this
 * package, installed in a project, finds the project's), else <cli> on PATH.
 */
export function cdktfCli(dir: string): string {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const bin = path.join(d, "node_modules", ".bin", FLAVOUR.cli);
    if (fs.existsSync(bin)) return bin;
    if (path.dirname(d) === d) return FLAVOUR.cli;
  }
}

/** A port in none of `ranges` (next to one of them), or undefined when they hold every port. */
function portOutside(ranges: readonly PortRange[]): number | undefined {
  if (!ranges.length) return undefined;
  return [...ranges.map((r) => r.from - 1), ...ranges.map((r) => r.to + 1)].find((p) => p >= 1 && p <= 65535 && !opens(ranges, p));
}

/**
 * What a stack's cdk.tf.json holds beyond the library's own steps (which the
 * lab deploys with the terraform_data engine): other resources, a
 * terraform_data that is no step of the library's (no `step` trigger, or a
 * provisioner other than remote-exec), data sources, modules and provider
 * configurations, which Terraform would apply, run or read for real, with
 * whatever credentials the machine has.
 */
export function outsideTheLab(tf: { readonly resource?: Record<string, Record<string, unknown>>; readonly data?: object; readonly module?: object; readonly provider?: object }): string[] {
  const isStep = (r: { triggers_replace?: { step?: unknown }; provisioner?: Record<string, unknown>[] }) =>
    typeof r.triggers_replace?.step === "string" && (r.provisioner ?? []).every((p) => Object.keys(p).every((k) => k === "remote-exec"));
  const resources = Object.entries(tf.resource ?? {}).flatMap(([type, byName]) =>
    Object.entries(byName).flatMap(([name, r]) => (type === "terraform_data" && isStep(r as Parameters<typeof isStep>[0]) ? [] : [`${type}.${name}${type === "terraform_data" ? " (no step of the library's)" : ""}`])),
  );
  const data = Object.entries(tf.data ?? {}).flatMap(([type, byName]) => Object.keys(byName as object).map((n) => `data.${type}.${n}`));
  return [...resources, ...data, ...Object.keys(tf.module ?? {}).map((m) => `module.${m}`), ...Object.keys(tf.provider ?? {}).map((p) => `provider ${p}`)];
}

/**
 * Why the lab cannot deploy the stack `next` over what it built for `built`,
 * or undefined: it builds the dom0s, their uplinks and their sshds once, and
 * starts a guest's sshd once, when the deploy creates the guest. Guests and
 * vhosts may come and go.
 */
export function phaseRefusal(built: Topology, next: Topology): string | undefined {
  const shape = (t: Topology) => t.dom0s.map((d) => `${d.id} ${d.uplink.device} ${d.uplink.address.address}/${d.uplink.address.prefix} sshd ${d.sshPort}`).sort().join(", ");
  if (shape(next) !== shape(built)) {
    return `the new context changes the stack's dom0s, their uplinks or their sshd ports (${shape(built)}, now ${shape(next)}): the lab builds dom0s once; start another lab run for the other stack`;
  }
  const moved = built.dom0s.flatMap((d) =>
    d.guests.flatMap((g) => {
      const now = next.dom0s.find((x) => x.id === d.id)?.guests.find((x) => x.id === g.id);
      return now && now.sshPort !== g.sshPort ? [`${d.id}/${g.id} (${g.sshPort}, now ${now.sshPort})`] : [];
    }),
  );
  if (moved.length) return `the new context changes the sshd port of ${moved.join(", ")}: the lab starts a guest's sshd once, when the deploy creates it; start another lab run for the other stack`;
  return undefined;
}
