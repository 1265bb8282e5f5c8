/**
 * `npm run bench`: measures side by side in one run, writes bench/results.json
 * and prints a table. Nothing here asserts a time: the results say whether
 * each target was met.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { App } from "cdktf";
import { XenHost } from "../lib";
import { renderIptablesRules } from "../lib/render/iptables";
import { renderNftRuleset } from "../lib/render/nftables";
import { renderIpsets } from "../lib/render/ipset";
import { PREVIEW_CONTEXT_KEY } from "../lib/private/stack-support";
import { runLab, scenarioLab } from "../lib/lab";
import { buildFleet } from "./fleet";
import { copyAssets } from "../flavours/assets";

interface Target {
  /** The part of the bench that measured it (firewall, synth, graph). */
  readonly section: string;
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}
const targets: Target[] = [];
const log = (l: string) => process.stderr.write(`${l}\n`);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The lowest and highest of several measurements. */
function spread(xs: number[]): { lowest: number; highest: number } {
  return { lowest: Math.min(...xs), highest: Math.max(...xs) };
}

function sh(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}) {
  const r = spawnSync(cmd, args, { input: opts.input, encoding: "utf8", timeout: opts.timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", timedOut: r.error?.message.includes("ETIMEDOUT") ?? false };
}

/** Seconds a command takes inside a fresh network namespace (removed afterwards). */
function timedInNetns(tag: string, script: string, timeoutMs?: number): { seconds: number; finished: boolean; rules: number } {
  const ns = `cxb${process.pid % 10000}${tag}`;
  sh("ip", ["netns", "add", ns]);
  try {
    // Timed inside the namespace, around the command alone: not the cost of entering it.
    const started = process.hrtime.bigint();
    const r = sh("ip", ["netns", "exec", ns, "sh", "-c", `s=$(date +%s%N); ${script}; e=$(date +%s%N); echo "elapsed $((e - s))"`], { timeoutMs });
    const fallback = Number(process.hrtime.bigint() - started) / 1e9;
    if (r.status !== 0 && !r.timedOut) throw new Error(`${tag}: ${r.stderr}`);
    const inside = /elapsed (\d+)/.exec(r.stdout);
    const seconds = inside ? Number(inside[1]) / 1e9 : fallback;
    const rules = Number(sh("ip", ["netns", "exec", ns, "sh", "-c", "iptables -S FORWARD | grep -c '^-A' || true"]).stdout.trim());
    return { seconds, finished: !r.timedOut, rules };
  } finally {
    sh("ip", ["netns", "del", ns]);
  }
}

/**
 * The seed's firewall method, generalised to N IPs: default DROP, then for
 * every (destination port, source port range, IP) three `iptables -A FORWARD`:
 * the request, the reply, and related traffic. Two ports and four client
 * port ranges give 24 rules per IP (2,400 at 100 IPs, as measured on the seed).
 */
function seedScript(fw: ReturnType<XenHost["_firewallModel"]>): string {
  const lines = ["iptables -P FORWARD DROP"];
  for (const a of fw.accepts) {
    for (const dport of [80, 443]) {
      for (const sport of ["1024:32767", "32768:49151", "49152:60999", "61000:65535"]) {
        lines.push(
          `iptables -A FORWARD -o ${a.vifname} -d ${a.address} -p tcp --dport ${dport} --sport ${sport} -m state --state NEW,ESTABLISHED -j ACCEPT`,
          `iptables -A FORWARD -i ${a.vifname} -s ${a.address} -p tcp --sport ${dport} --dport ${sport} -m state --state ESTABLISHED -j ACCEPT`,
          `iptables -A FORWARD -i ${a.vifname} -s ${a.address} -p tcp --sport ${dport} --dport ${sport} -m state --state RELATED -j ACCEPT`,
        );
      }
    }
  }
  return lines.join("\n") + "\n";
}

function firewallBench() {
  const rows = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-xen-bench-fw-"));
  try {
    for (const ips of [10, 100, 1000]) {
      const app = new App({ outdir: path.join(tmp, `app${ips}`), context: { [PREVIEW_CONTEXT_KEY]: false } });
      const stack = buildFleet(app, 1, ips / 10, 10, { sourcePorts: true });
      const host = stack.node.findAll().filter(XenHost.isXenHost)[0];
      const fw = host._firewallModel();
      const files = {
        seed: seedScript(fw),
        iptables: renderIptablesRules(fw),
        ipsets: renderIpsets(fw),
        iptablesSets: renderIptablesRules(fw, { sets: true }),
        nft: renderNftRuleset(fw),
      };
      const file = (k: keyof typeof files) => path.join(tmp, `${k}${ips}`);
      for (const k of Object.keys(files) as (keyof typeof files)[]) fs.writeFileSync(file(k), files[k]);
      const runs = ips >= 1000 ? 1 : 3;
      const m: Record<"seed" | "iptables" | "ipset" | "nft", ReturnType<typeof timedInNetns>[]> = { seed: [], iptables: [], ipset: [], nft: [] };
      for (let i = 0; i < runs; i++) {
        // Side by side, alternating, so load on the machine hits all four alike.
        m.seed.push(timedInNetns(`s${ips}`, `sh ${file("seed")}`, 600000));
        m.iptables.push(timedInNetns(`i${ips}`, `iptables-restore < ${file("iptables")}`));
        // The sets go in beside the live ones; the switch is the one iptables-restore transaction.
        m.ipset.push(timedInNetns(`p${ips}`, `ipset -exist restore < ${file("ipsets")} && iptables-restore < ${file("iptablesSets")}`));
        m.nft.push(timedInNetns(`n${ips}`, `nft -f ${file("nft")}`));
      }
      const seconds = (k: keyof typeof m) => median(m[k].map((r) => r.seconds));
      const nftRules = files.nft.split("chain forward")[1].split("\n").filter((l) => /accept|drop/.test(l) && !/policy/.test(l)).length;
      const sets = files.ipsets.split("\n").filter((l) => l.startsWith("create ")).length;
      const row = {
        ips,
        seed: { rules: m.seed[0].rules, seconds: seconds("seed"), finished: m.seed.every((r) => r.finished) },
        iptables: { rules: m.iptables[0].rules, seconds: seconds("iptables"), transactions: 1 },
        iptablesWithIpsets: { rules: m.ipset[0].rules, sets, setElements: files.ipsets.split("\n").filter((l) => l.startsWith("add ")).length, seconds: seconds("ipset"), transactions: 1 },
        nftables: { forwardRules: nftRules, setElements: fw.accepts.length, seconds: seconds("nft"), transactions: 1 },
        /** What the default backend (iptables, ipsets from 64 addresses) deploys for this host. */
        libraryDefault: host._usesIpsets() ? "iptablesWithIpsets" : "iptables",
        ratio: 0,
      };
      const def = row[row.libraryDefault as "iptables" | "iptablesWithIpsets"];
      row.ratio = row.seed.seconds / def.seconds;
      rows.push(row);
      log(
        `firewall ${ips} IPs: seed ${row.seed.rules} rules ${row.seed.seconds.toFixed(3)} s${row.seed.finished ? "" : " (stopped)"}; ` +
          `iptables ${row.iptables.rules} rules ${row.iptables.seconds.toFixed(3)} s; iptables+ipset ${row.iptablesWithIpsets.rules} rules ${row.iptablesWithIpsets.seconds.toFixed(3)} s; ` +
          `nft ${row.nftables.forwardRules} rules ${row.nftables.seconds.toFixed(3)} s; default ${row.libraryDefault}, ${row.ratio.toFixed(0)}x`,
      );
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const at100 = rows.find((r) => r.ips === 100)!;
  targets.push({ section: "firewall", name: "firewall load at 100 IPs", target: ">= 200x faster than the seed's method", measured: `${at100.ratio.toFixed(0)}x (${at100.libraryDefault})`, met: at100.ratio >= 200 });
  const at1000 = rows.find((r) => r.ips === 1000)!;
  targets.push({ section: "firewall", name: "1,000 IPs in one atomic transaction", target: "one iptables-restore / nft -f", measured: "1 transaction each (ipsets go in beside, unused until it)", met: at1000.iptables.transactions === 1 });
  const maxRules = Math.max(at1000.iptables.rules, at1000.iptablesWithIpsets.rules, at1000.nftables.forwardRules);
  targets.push({
    section: "firewall",
    name: "FORWARD rules at 1,000 IPs",
    target: "<= IPs + 3",
    measured: `${at1000.iptables.rules} (one per IP), ${at1000.iptablesWithIpsets.rules} (ipsets, the default), ${at1000.nftables.forwardRules} (nftables)`,
    met: maxRules <= 1003,
  });
  const walks = rows.filter((r) => r.ips >= 64 && r.libraryDefault !== "iptablesWithIpsets");
  targets.push({
    section: "firewall",
    name: "new connections from 64 IPs up",
    target: "no rule walk per IP (ipset or nft set)",
    measured: rows
      .filter((r) => r.ips >= 64)
      .map((r) => `${r.ips} IPs: ${r.iptablesWithIpsets.rules} rules, ${r.iptablesWithIpsets.sets} set(s) (default) / ${r.nftables.forwardRules} rules + set (nftables)`)
      .join("; "),
    met: walks.length === 0,
  });
  return rows;
}

type Json = Record<string, any>;

let compiledChild: string | undefined;

/**
 * bench/synth-child.ts and the library compiled to JavaScript, as users run
 * the library (worker threads included), not through ts-node: once per run,
 * into a directory removed at exit.
 */
function synthChildScript(): string {
  if (compiledChild) return compiledChild;
  const root = path.join(__dirname, "..");
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-xen-bench-js-"));
  process.on("exit", () => fs.rmSync(out, { recursive: true, force: true }));
  const config = path.join(out, "tsconfig.json");
  fs.writeFileSync(config, JSON.stringify({ extends: path.join(root, "tsconfig.json"), compilerOptions: { rootDir: root, outDir: out, sourceMap: false, declaration: false, types: ["node"], typeRoots: [path.join(root, "node_modules", "@types")] }, include: [path.join(root, "lib/**/*.ts"), path.join(root, "bench/**/*.ts")] }));
  const tsc = sh(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", config]);
  if (tsc.status !== 0) throw new Error(`compiling the bench: ${tsc.stdout}${tsc.stderr}`);
  copyAssets(path.join(root, "lib"), path.join(out, "lib"));
  fs.symlinkSync(path.join(root, "node_modules"), path.join(out, "node_modules"));
  return (compiledChild = path.join(out, "bench", "synth-child.js"));
}

/** How a synth child runs (see synth-child.ts): without the preview, with the proof, into a directory of its own, unless said. */
interface ChildOptions {
  readonly preview?: boolean;
  readonly prove?: boolean;
  /** Where to keep its cdk.tf.json. */
  readonly keepJson?: string;
  /** Synthesize into this directory, kept. */
  readonly outdir?: string;
  /** One vhost's server name changed. */
  readonly change?: boolean;
  /** `false`: the app is built and not synthesized. */
  readonly synth?: boolean;
  /** `false`: cdktf's own serializer writes cdk.tf.json (context cdktf-xen:writeStackJson false). */
  readonly stackJson?: boolean;
  /** The same fleet synthesized once before, in the same process: the measured synth runs warm code. */
  readonly warm?: boolean;
}

/** The environment that tells a synth child its options. */
function childEnv(o: ChildOptions): NodeJS.ProcessEnv {
  return {
    ...process.env,
    BENCH_PREVIEW: o.preview ? "1" : "0",
    BENCH_PROVE: o.prove === false ? "0" : "1",
    ...(o.keepJson ? { BENCH_KEEP_JSON: o.keepJson } : {}),
    ...(o.outdir ? { BENCH_OUTDIR: o.outdir } : {}),
    ...(o.change ? { BENCH_CHANGE: "1" } : {}),
    ...(o.synth === false ? { BENCH_SYNTH: "0" } : {}),
    ...(o.stackJson === false ? { BENCH_STACK_JSON: "0" } : {}),
    ...(o.warm ? { BENCH_WARM: "1" } : {}),
  };
}

function synthChild(args: string[], o: ChildOptions = {}) {
  const r = spawnSync(process.execPath, [synthChildScript(), ...args], { encoding: "utf8", env: childEnv(o), maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as { ms: number; synthMs: number; synthCpuMs: number; proofMs: number; proofRenderMs: number; maxRssMb: number; resources: number; scriptBytes: number };
}

type ChildResult = ReturnType<typeof synthChild>;

type SynthRatio =
  | "timeRatio"
  | "cpuTimeRatio"
  | "cpuTimeRatioVsSameResources"
  | "buildAndSynthTimeRatio"
  | "memoryRatio"
  | "timeRatioWithPreview"
  | "timeRatioResynthWithPreview"
  | "timeRatioChangedWithPreview"
  | "timeRatioVsSameResources"
  | "timeRatioVsSameResourcesCdkWriter"
  | "memoryRatioVsSameResources"
  | "memoryRatioCdkWriter";

function synthBench() {
  const rows: (Record<SynthRatio, number> & Json)[] = [];
  for (const dom0s of [1, 10, 50]) {
    // GC timing makes single runs noisy (peak memory at 50 dom0s varied by 30% here): medians of several.
    const runs = dom0s >= 50 ? 3 : 5;
    const ours: ReturnType<typeof synthChild>[] = [];
    const oursCdkWriter: ReturnType<typeof synthChild>[] = [];
    const oursPreview: ReturnType<typeof synthChild>[] = [];
    const oursResynth: ReturnType<typeof synthChild>[] = [];
    const oursChanged: ReturnType<typeof synthChild>[] = [];
    const raw: ReturnType<typeof synthChild>[] = [];
    const rawSame: ReturnType<typeof synthChild>[] = [];
    const tf = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-xen-bench-tf-")), "cdk.tf.json");
    try {
      for (let i = 0; i < runs; i++) {
        ours.push(synthChild(["cdktf-xen", String(dom0s)], { keepJson: i === 0 ? tf : undefined }));
        const per = Math.round(ours[0].scriptBytes / ours[0].resources);
        raw.push(synthChild(["raw", String(dom0s), String(ours[0].resources), String(per)]));
        rawSame.push(synthChild(["raw-same", String(dom0s), tf]));
        // cdk.tf.json written by cdktf's serializer, as before the library wrote it itself: what the library adds, that aside.
        oursCdkWriter.push(synthChild(["cdktf-xen", String(dom0s)], { stackJson: false }));
        // The default synth: into an empty directory, then again into the same one (as `cdktf synth` runs
        // in a project whose cdktf.out holds the last synth), the code unchanged.
        const outdir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-xen-bench-out-"));
        try {
          oursPreview.push(synthChild(["cdktf-xen", String(dom0s)], { preview: true, outdir }));
          // The preview's thousands of files are written back in the background: not during the next run.
          sh("sync", []);
          oursResynth.push(synthChild(["cdktf-xen", String(dom0s)], { preview: true, outdir }));
          sh("sync", []);
          // Once more, with one vhost's server name changed: its site file and the check after deploy differ, every other file is as it was.
          oursChanged.push(synthChild(["cdktf-xen", String(dom0s)], { preview: true, outdir, change: true }));
        } finally {
          fs.rmSync(outdir, { recursive: true, force: true });
        }
        sh("sync", []);
      }
    } finally {
      fs.rmSync(path.dirname(tf), { recursive: true, force: true });
    }
    const sum = (xs: ReturnType<typeof synthChild>[]) => ({
      /** app.synth() alone. */
      synthSeconds: median(xs.map((r) => r.synthMs)) / 1000,
      /** CPU time of app.synth(), every thread: what the work costs, whatever else the machine runs. */
      synthCpuSeconds: median(xs.map((r) => r.synthCpuMs)) / 1000,
      /** Building the construct tree (props checked, models made), then app.synth(). */
      buildAndSynthSeconds: median(xs.map((r) => r.ms)) / 1000,
      peakMb: median(xs.map((r) => r.maxRssMb)),
    });
    const row = {
      dom0s,
      guests: dom0s * 40,
      ips: dom0s * 160,
      resources: ours[0].resources,
      runs,
      cdktfXen: sum(ours),
      /** The same, cdk.tf.json written by cdktf's own serializer (context cdktf-xen:writeStackJson false). */
      cdktfXenCdkWriter: sum(oursCdkWriter),
      cdktfXenWithPreview: sum(oursPreview),
      /** The same synth again into the directory of the one before: the preview is found unchanged. */
      cdktfXenResynthWithPreview: sum(oursResynth),
      /** Then again with one vhost changed: the preview updated in place, only what changed touched. */
      cdktfXenChangedWithPreview: sum(oursChanged),
      rawCdktf: sum(raw),
      /** Raw cdktf building exactly the resources cdktf-xen wrote: same paths, connections, depends_on, scripts. */
      rawCdktfSameResources: sum(rawSame),
      timeRatio: 0,
      cpuTimeRatio: 0,
      timeRatioVsSameResources: 0,
      timeRatioVsSameResourcesCdkWriter: 0,
      cpuTimeRatioVsSameResources: 0,
      memoryRatioVsSameResources: 0,
      buildAndSynthTimeRatio: 0,
      memoryRatio: 0,
      memoryRatioCdkWriter: 0,
      timeRatioWithPreview: 0,
      timeRatioResynthWithPreview: 0,
      timeRatioChangedWithPreview: 0,
      timeRatioPerRun: { lowest: 0, highest: 0 },
      timeRatioVsSameResourcesPerRun: { lowest: 0, highest: 0 },
    };
    row.timeRatio = row.cdktfXen.synthSeconds / row.rawCdktf.synthSeconds;
    row.cpuTimeRatio = row.cdktfXen.synthCpuSeconds / row.rawCdktf.synthCpuSeconds;
    row.cpuTimeRatioVsSameResources = row.cdktfXen.synthCpuSeconds / row.rawCdktfSameResources.synthCpuSeconds;
    // Runs measured one after the other share the machine's mood: their ratios, lowest to highest, show the noise of this run.
    row.timeRatioPerRun = spread(ours.map((o, i) => o.synthMs / raw[i].synthMs));
    row.timeRatioVsSameResourcesPerRun = spread(ours.map((o, i) => o.synthMs / rawSame[i].synthMs));
    row.buildAndSynthTimeRatio = row.cdktfXen.buildAndSynthSeconds / row.rawCdktf.buildAndSynthSeconds;
    row.memoryRatio = row.cdktfXen.peakMb / row.rawCdktf.peakMb;
    row.memoryRatioCdkWriter = row.cdktfXenCdkWriter.peakMb / row.rawCdktf.peakMb;
    row.timeRatioVsSameResourcesCdkWriter = row.cdktfXenCdkWriter.synthSeconds / row.rawCdktfSameResources.synthSeconds;
    row.timeRatioWithPreview = row.cdktfXenWithPreview.synthSeconds / row.rawCdktf.synthSeconds;
    row.timeRatioResynthWithPreview = row.cdktfXenResynthWithPreview.synthSeconds / row.rawCdktf.synthSeconds;
    row.timeRatioChangedWithPreview = row.cdktfXenChangedWithPreview.synthSeconds / row.rawCdktf.synthSeconds;
    row.timeRatioVsSameResources = row.cdktfXen.synthSeconds / row.rawCdktfSameResources.synthSeconds;
    row.memoryRatioVsSameResources = row.cdktfXen.peakMb / row.rawCdktfSameResources.peakMb;
    rows.push(row);
    log(
      `synth ${dom0s} dom0s (${row.resources} resources): cdktf-xen ${row.cdktfXen.synthSeconds.toFixed(2)} s (with building ${row.cdktfXen.buildAndSynthSeconds.toFixed(2)} s) ${row.cdktfXen.peakMb.toFixed(0)} MB ` +
        `(with preview ${row.cdktfXenWithPreview.synthSeconds.toFixed(2)} s, again ${row.cdktfXenResynthWithPreview.synthSeconds.toFixed(2)} s, after one change ${row.cdktfXenChangedWithPreview.synthSeconds.toFixed(2)} s); raw ${row.rawCdktf.synthSeconds.toFixed(2)} s (${row.rawCdktf.buildAndSynthSeconds.toFixed(2)} s) ${row.rawCdktf.peakMb.toFixed(0)} MB; ` +
        `raw, same resources ${row.rawCdktfSameResources.synthSeconds.toFixed(2)} s ${row.rawCdktfSameResources.peakMb.toFixed(0)} MB; ` +
        `cdktf-xen with cdktf's writer ${row.cdktfXenCdkWriter.synthSeconds.toFixed(2)} s ${row.cdktfXenCdkWriter.peakMb.toFixed(0)} MB`,
    );
  }
  const ratios = (k: SynthRatio) => rows.map((r) => r[k].toFixed(2)).join(", ");
  const ranges = (k: "timeRatioPerRun" | "timeRatioVsSameResourcesPerRun") => rows.map((r) => `${r[k].lowest.toFixed(2)}-${r[k].highest.toFixed(2)}`).join(", ");
  targets.push({
    section: "synth",
    name: "app.synth() time vs raw cdktf (1, 10, 50 dom0s)",
    target: "<= 1.25x",
    measured:
      `${ratios("timeRatio")}x (run by run: ${ranges("timeRatioPerRun")}x; CPU time: ${ratios("cpuTimeRatio")}x; building included: ${ratios("buildAndSynthTimeRatio")}x; with the host preview: ${ratios("timeRatioWithPreview")}x; ` +
      `against raw cdktf building the very same resources: ${ratios("timeRatioVsSameResources")}x, run by run ${ranges("timeRatioVsSameResourcesPerRun")}x, CPU time ${ratios("cpuTimeRatioVsSameResources")}x)`,
    met: Math.max(...rows.map((r) => r.timeRatio)) <= 1.25,
  });
  const at10and50 = rows.filter((r) => r.dom0s >= 10);
  const ratios10and50 = (k: SynthRatio) => at10and50.map((r) => r[k].toFixed(2)).join(", ");
  targets.push({
    section: "synth",
    name: "app.synth() vs raw cdktf building the same resources (10, 50 dom0s)",
    target: "<= 1.1x",
    measured: `${ratios10and50("timeRatioVsSameResources")}x (CPU time ${ratios10and50("cpuTimeRatioVsSameResources")}x; with cdk.tf.json written by cdktf's serializer ${ratios10and50("timeRatioVsSameResourcesCdkWriter")}x)`,
    met: Math.max(...at10and50.map((r) => r.timeRatioVsSameResources)) <= 1.1,
  });
  targets.push({
    section: "synth",
    name: "default synth with the host preview vs raw cdktf (10, 50 dom0s)",
    target: "<= 2x",
    measured: `into an empty directory ${ratios10and50("timeRatioWithPreview")}x; again, the code unchanged, ${ratios10and50("timeRatioResynthWithPreview")}x (after one change ${ratios10and50("timeRatioChangedWithPreview")}x)`,
    met: Math.max(...at10and50.map((r) => Math.max(r.timeRatioWithPreview, r.timeRatioResynthWithPreview, r.timeRatioChangedWithPreview))) <= 2,
  });
  targets.push({ section: "synth", name: "synth peak memory vs raw cdktf", target: "<= 1.5x", measured: `${ratios("memoryRatio")}x (against the very same resources: ${ratios("memoryRatioVsSameResources")}x; with cdk.tf.json written by cdktf's serializer ${ratios("memoryRatioCdkWriter")}x)`, met: Math.max(...rows.map((r) => r.memoryRatio)) <= 1.5 });
  return rows;
}

/**
 * Instructions a synth child executes, counted by valgrind's callgrind on a
 * single-threaded V8 (no concurrent compiler or collector threads): the same
 * count run after run, whatever else the machine does.
 */
function childInstructions(args: string[], o: ChildOptions): number {
  const r = spawnSync("valgrind", ["--tool=callgrind", "--callgrind-out-file=/dev/null", process.execPath, "--single-threaded", synthChildScript(), ...args], {
    encoding: "utf8",
    env: childEnv(o),
    maxBuffer: 64 * 1024 * 1024,
  });
  const collected = /Collected : (\d+)/.exec(r.stderr ?? "");
  if (r.status !== 0 || !collected) throw new Error(`callgrind: ${r.stderr}`);
  return Number(collected[1]);
}

/** What the proof adds to app.synth() at 1 dom0, in instructions executed (see childInstructions); undefined without valgrind. */
function proofInstructions(): Json | undefined {
  if (sh("sh", ["-c", "command -v valgrind"]).status !== 0) return undefined;
  const built = childInstructions(["cdktf-xen", "1"], { synth: false });
  const withProof = childInstructions(["cdktf-xen", "1"], {});
  const without = childInstructions(["cdktf-xen", "1"], { prove: false });
  const share = (withProof - without) / (without - built);
  log(`prove 1 dom0, instructions: app.synth() ${((without - built) / 1e6).toFixed(0)} M without the proof, the proof ${((withProof - without) / 1e6).toFixed(0)} M (+${(share * 100).toFixed(1)}%)`);
  return { dom0s: 1, synthWithoutProof: without - built, proof: withProof - without, share };
}

/**
 * `runs` pairs of `a` and `b`, which goes first alternating, so that a
 * machine getting busier or quieter does not favour one; `after` runs after
 * each pair. Their results, in run order.
 */
function alternatingPairs<T>(runs: number, a: () => T, b: () => T, after?: () => void): [T[], T[]] {
  const as: T[] = [];
  const bs: T[] = [];
  for (let i = 0; i < runs; i++) {
    const pair = [() => as.push(a()), () => bs.push(b())];
    for (const run of i % 2 ? pair.reverse() : pair) run();
    after?.();
  }
  return [as, bs];
}

/**
 * What the proof at synth costs: app.synth() of the same fleet with the
 * reachability proof and without it (context cdktf-xen:prove false), run one
 * after the other in their own processes.
 */
function proveBench(): { rows: Json[]; instructions?: Json; remembered: Json; warm: Json } {
  const rows: Json[] = [];
  for (const dom0s of [10, 50]) {
    const runs = dom0s === 50 ? 7 : 5;
    const args = ["cdktf-xen", String(dom0s)];
    const [withProof, without] = alternatingPairs(runs, () => synthChild(args), () => synthChild(args, { prove: false }));
    const row = {
      dom0s,
      guests: dom0s * 40,
      ips: dom0s * 160,
      runs,
      withProof: { synthSeconds: median(withProof.map((r) => r.synthMs)) / 1000, synthCpuSeconds: median(withProof.map((r) => r.synthCpuMs)) / 1000, peakMb: median(withProof.map((r) => r.maxRssMb)) },
      withoutProof: { synthSeconds: median(without.map((r) => r.synthMs)) / 1000, synthCpuSeconds: median(without.map((r) => r.synthCpuMs)) / 1000, peakMb: median(without.map((r) => r.maxRssMb)) },
      timeRatio: 0,
      cpuTimeRatio: 0,
      timeRatioPerRun: spread(withProof.map((w, i) => w.synthMs / without[i].synthMs)),
      ...insideRuns(withProof),
    };
    row.timeRatio = row.withProof.synthSeconds / row.withoutProof.synthSeconds;
    row.cpuTimeRatio = row.withProof.synthCpuSeconds / row.withoutProof.synthCpuSeconds;
    rows.push(row);
    log(`prove ${dom0s} dom0s: app.synth() ${row.withProof.synthSeconds.toFixed(2)} s with the proof, ${row.withoutProof.synthSeconds.toFixed(2)} s without (${row.timeRatio.toFixed(3)}x, CPU ${row.cpuTimeRatio.toFixed(3)}x)`);
  }
  const fifty = rows[rows.length - 1];
  const counted = proofInstructions();
  targets.push({
    section: "prove",
    name: "the reachability proof at synth, 50 dom0s",
    target: "adds <= 10% to app.synth()",
    measured: `+${((fifty.timeRatio - 1) * 100).toFixed(1)}% by the median of ${fifty.runs} process pairs (run by run ${((fifty.timeRatioPerRun.lowest - 1) * 100).toFixed(1)} to ${((fifty.timeRatioPerRun.highest - 1) * 100).toFixed(1)}%; CPU time +${((fifty.cpuTimeRatio - 1) * 100).toFixed(1)}%); timed inside the runs, the proof's own ${fifty.inProcessProofSeconds.toFixed(2)} s are +${(fifty.inProcessShare * 100).toFixed(1)}% of the rest of app.synth(); at 10 dom0s +${((rows[0].timeRatio - 1) * 100).toFixed(1)}%${counted ? `; in instructions executed, +${(counted.share * 100).toFixed(1)}% at 1 dom0` : ""}`,
    // Met only when both measures agree: the pairs' median and the time inside the runs.
    met: fifty.timeRatio <= 1.1 && fifty.inProcessShare <= 0.1,
  });
  return { rows, instructions: counted, remembered: rememberedBench(50, 3), warm: warmBench(50, 3) };
}

/** The proof's own time inside runs (every proveDom0, less the rendering, which synth needs anyway) against the rest of their app.synth(): medians. */
function insideRuns(rs: ChildResult[]): { inProcessShare: number; inProcessProofSeconds: number } {
  const own = (r: ChildResult) => r.proofMs - r.proofRenderMs;
  return { inProcessShare: median(rs.map((r) => own(r) / (r.synthMs - own(r)))), inProcessProofSeconds: median(rs.map(own)) / 1000 };
}

/** A row of pairs with the proof and without it, in run order: their medians, the ratio of those and run by run, and the proof's time inside the runs. */
function pairedRow(dom0s: number, withProof: ChildResult[], without: ChildResult[]) {
  return {
    dom0s,
    runs: withProof.length,
    withProof: { synthSeconds: median(withProof.map((r) => r.synthMs)) / 1000 },
    withoutProof: { synthSeconds: median(without.map((r) => r.synthMs)) / 1000 },
    timeRatio: median(withProof.map((r) => r.synthMs)) / median(without.map((r) => r.synthMs)),
    timeRatioPerRun: spread(withProof.map((w, i) => w.synthMs / without[i].synthMs)),
    ...insideRuns(withProof),
  };
}

/**
 * The proof's own work, V8's warming up of its code aside: each process
 * synthesizes the fleet once, then again measured (into a new directory,
 * which remembers no proof), with the proof and without it, in pairs whose
 * order alternates.
 */
function warmBench(dom0s: number, runs: number): Json {
  const args = ["cdktf-xen", String(dom0s)];
  const [withProof, without] = alternatingPairs(runs, () => synthChild(args, { warm: true }), () => synthChild(args, { warm: true, prove: false }));
  const row = pairedRow(dom0s, withProof, without);
  log(`prove ${dom0s} dom0s, warm: app.synth() ${row.withProof.synthSeconds.toFixed(2)} s with the proof, ${row.withoutProof.synthSeconds.toFixed(2)} s without (${row.timeRatio.toFixed(3)}x); the proof's own ${row.inProcessProofSeconds.toFixed(2)} s (+${(row.inProcessShare * 100).toFixed(1)}%)`);
  return row;
}

/**
 * The proof of a synth into the directory an earlier synth of the same
 * fleet left, which remembers the proofs that passed there
 * (proof-cache.json): with the proof and without it, pairs whose order
 * alternates; and with one vhost changed, so that one dom0 is proven again
 * (the file put back as the unchanged fleet left it after each).
 */
function rememberedBench(dom0s: number, runs: number): Json {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-xen-bench-remembered-"));
  try {
    const args = ["cdktf-xen", String(dom0s)];
    synthChild(args, { outdir: dir });
    const file = path.join(dir, "stacks", "fleet", "proof-cache.json");
    const kept = fs.readFileSync(file);
    const changed: ChildResult[] = [];
    const [withProof, without] = alternatingPairs(
      runs,
      () => synthChild(args, { outdir: dir }),
      () => synthChild(args, { outdir: dir, prove: false }),
      () => {
        changed.push(synthChild(args, { outdir: dir, change: true }));
        fs.writeFileSync(file, kept);
      },
    );
    const row = { ...pairedRow(dom0s, withProof, without), oneVhostChanged: insideRuns(changed) };
    log(
      `prove ${dom0s} dom0s, remembered: app.synth() ${row.withProof.synthSeconds.toFixed(2)} s with the proof, ${row.withoutProof.synthSeconds.toFixed(2)} s without (${row.timeRatio.toFixed(3)}x); ` +
        `the proof's own ${row.inProcessProofSeconds.toFixed(2)} s (+${(row.inProcessShare * 100).toFixed(1)}%), one vhost changed ${row.oneVhostChanged.inProcessProofSeconds.toFixed(2)} s (+${(row.oneVhostChanged.inProcessShare * 100).toFixed(1)}%)`,
    );
    return row;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function synthJson(dom0s: number, changeOneVhost: boolean): Json {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-xen-bench-graph-"));
  try {
    const app = new App({ outdir: dir, context: { [PREVIEW_CONTEXT_KEY]: false } });
    buildFleet(app, dom0s, 40, 4, { changeOneVhost });
    app.synth();
    return JSON.parse(fs.readFileSync(path.join(dir, "stacks", "fleet", "cdk.tf.json"), "utf8"));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Resources of the longest depends_on chain. */
function longestChain(json: Json): number {
  const deps = new Map<string, string[]>();
  for (const [type, rs] of Object.entries<Json>(json.resource)) for (const [name, r] of Object.entries<Json>(rs)) deps.set(`${type}.${name}`, r.depends_on ?? []);
  const memo = new Map<string, number>();
  const depth = (k: string): number => memo.get(k) ?? (memo.set(k, 1 + Math.max(0, ...(deps.get(k) ?? []).map(depth))), memo.get(k)!);
  return Math.max(...[...deps.keys()].map(depth));
}

function graphBench() {
  const one = synthJson(1, false);
  const fifty = synthJson(50, false);
  const changed = synthJson(50, true);
  const triggers = (j: Json) => new Map(Object.entries<Json>(j.resource.null_resource).map(([k, r]) => [k, r.triggers.script_sha256]));
  const before = triggers(fifty);
  const after = triggers(changed);
  const replaced = [...before.keys()].filter((k) => before.get(k) !== after.get(k));
  const result = { longestChain1: longestChain(one), longestChain50: longestChain(fifty), replacedWhenOneVhostChanges: replaced.length, replaced };
  targets.push({ section: "graph", name: "longest depends_on chain", target: "same for 1 and 50 dom0s, <= 4", measured: `${result.longestChain1} and ${result.longestChain50} resources`, met: result.longestChain1 === result.longestChain50 && result.longestChain50 <= 4 });
  targets.push({ section: "graph", name: "resources replaced when one vhost changes", target: "<= 2", measured: `${replaced.length} (${replaced.join(", ")})`, met: replaced.length <= 2 });
  log(`graph: chain ${result.longestChain1}/${result.longestChain50}; replaced ${replaced.length}`);
  return result;
}

async function labBench() {
  if (process.getuid?.() !== 0) return { skipped: "needs root" };
  const started = Date.now();
  const result = await runLab(scenarioLab("seed"));
  return { scenario: "seed", ok: result.ok, seconds: (Date.now() - started) / 1000, deploySeconds: result.deploy.seconds, probes: result.probes.length };
}

/**
 * The file system the synth rows write into (os.tmpdir(), which TMPDIR sets):
 * creating the preview's thousands of files costs what it costs there. An
 * ext4 without a journal scans recently deleted inodes for each new one.
 */
function tmpFilesystem(): Json {
  const dir = fs.realpathSync(os.tmpdir());
  const mounts = fs.readFileSync("/proc/mounts", "utf8").trim().split("\n").map((l) => l.split(" "));
  const [device, at, type, options] = mounts.filter(([, m]) => dir === m || dir.startsWith(m.endsWith("/") ? m : `${m}/`)).sort((a, b) => b[1].length - a[1].length)[0];
  const journal = type === "ext4" ? fs.readdirSync("/proc/fs/jbd2").some((j) => j.startsWith(`${path.basename(device)}-`)) : undefined;
  log(`synth rows written under ${dir}: ${type} on ${device} (${at})${journal === undefined ? "" : journal ? ", with a journal" : ", without a journal"}`);
  return { dir, device, type, options, ...(journal === undefined ? {} : { journal }) };
}

async function main() {
  const only = process.argv.slice(2);
  const want = (k: string) => only.length === 0 || only.includes(k);
  // A partial run (`npm run bench synth`) replaces its own sections and keeps the others.
  const file = path.join(__dirname, "results.json");
  const previous: Json = only.length && fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  const results: Json = { ...previous, date: new Date().toISOString(), machine: { cpus: os.cpus().length, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version } };
  const ran: string[] = [];
  if (want("firewall")) (results.firewall = firewallBench()), ran.push("firewall");
  if (want("synth")) (results.synth = synthBench()), (results.synthFilesystem = tmpFilesystem()), ran.push("synth");
  if (want("prove")) {
    const { rows, instructions, remembered, warm } = proveBench();
    results.prove = rows;
    results.proveInstructions = instructions;
    results.proveRemembered = remembered;
    results.proveWarm = warm;
    ran.push("prove");
  }
  if (want("graph")) (results.graph = graphBench()), ran.push("graph");
  if (want("lab")) (results.lab = await labBench()), ran.push("lab");
  results.targets = [...((previous.targets ?? []) as Target[]).filter((t) => !ran.includes(t.section)), ...targets];
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
  console.log("target".padEnd(48), "wanted".padEnd(40), "measured".padEnd(70), "met");
  for (const t of results.targets as Target[]) console.log(t.name.padEnd(48), t.target.padEnd(40), t.measured.padEnd(70), t.met ? "yes" : "NO");
  if (results.lab) console.log(`lab seed scenario: ${JSON.stringify(results.lab)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
