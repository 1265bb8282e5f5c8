/**
 * One synth measured in its own process: `cdktf-xen DOM0S` builds the fleet
 * with this library; `raw DOM0S RESOURCES SCRIPT_BYTES` builds the same number
 * of null_resources with remote-exec provisioners of the same size, as raw
 * cdktf; `raw-same DOM0S JSON` rebuilds, as raw cdktf, exactly the resources of
 * a cdk.tf.json the library wrote (same construct paths, connections,
 * triggers, scripts and depends_on). `BENCH_PROVE=0` skips the reachability
 * proof run at synth; `BENCH_SYNTH=0` builds the app and stops before app.synth();
 * `BENCH_CHANGE=1` changes one vhost's server name; `BENCH_STACK_JSON=0` leaves cdk.tf.json to cdktf's serializer. `BENCH_KEEP_JSON=FILE` keeps the
 * cdk.tf.json; `BENCH_OUTDIR=DIR` synthesizes into DIR and keeps it; `BENCH_WARM=1` first synthesizes the same fleet
 * once in the same process (into a directory of its own, removed), so that the measured synth runs warm code. Prints {ms, synthMs, synthCpuMs, maxRssMb, resources, scriptBytes}
 * as JSON; synthCpuMs is the CPU time (user and system, every thread) that
 * app.synth() took, which other work on a shared machine barely moves.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { App, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { NullProvider } from "@cdktf/provider-null/lib/provider";
import { Resource } from "@cdktf/provider-null/lib/resource";
import { buildFleet } from "./fleet";
import { PREVIEW_CONTEXT_KEY, STACK_JSON_CONTEXT_KEY } from "../lib/private/stack-support";
import { PROVE_CONTEXT_KEY } from "../lib/private/prove";
import { RoutedDomU, XenHost } from "../lib";

const [mode, dom0sArg, resourcesArg, bytesArg] = process.argv.slice(2);
// BENCH_OUTDIR: synthesize into this directory, kept (a second synth there finds the first's output, as `cdktf synth` does).
const outdir = process.env.BENCH_OUTDIR ?? fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-xen-bench-"));
if (!process.env.BENCH_OUTDIR) process.on("exit", () => fs.rmSync(outdir, { recursive: true, force: true }));
// BENCH_WARM=1: the same fleet synthesized once before, in this process and a directory of its own, with the same context: what the measured synth runs is warm code.
if (process.env.BENCH_WARM === "1" && mode === "cdktf-xen") warmUp();
const started = process.hrtime.bigint();
const app = new App({ outdir, context: benchContext() });
if (mode === "cdktf-xen") {
  buildFleet(app, Number(dom0sArg), 40, 4, { changeOneVhost: process.env.BENCH_CHANGE === "1" });
} else if (mode === "raw-same") {
  rebuild(JSON.parse(fs.readFileSync(resourcesArg, "utf8")));
} else {
  const stack = new TerraformStack(app, "fleet");
  new NullProvider(stack, "null");
  const resources = Number(resourcesArg);
  const perScript = Number(bytesArg);
  for (let i = 0; i < resources; i++) {
    const script = `#!/bin/sh\n# ${i}\n` + "x".repeat(Math.max(0, perScript - 14));
    new Resource(stack, `r${i}`, {
      triggers: { step: `host/${i}`, script_sha256: i.toString(16).padStart(64, "0") },
      connection: { type: "ssh", host: "203.0.113.1", user: "root", port: 22, agent: "true" },
      provisioners: [{ type: "remote-exec", inline: [script] }],
    });
  }
}
const built = process.hrtime.bigint();
// BENCH_SYNTH=0: the app is built and not synthesized (what an instruction count subtracts to keep app.synth() alone).
if (process.env.BENCH_SYNTH === "0") {
  process.stdout.write(JSON.stringify({ ms: Number(built - started) / 1e6 }) + "\n");
  process.exit(0);
}
const proof = timeProof();
const cpuBefore = process.cpuUsage();
app.synth();
const cpu = process.cpuUsage(cpuBefore);
const done = process.hrtime.bigint();
if (process.env.BENCH_KEEP_JSON) fs.copyFileSync(path.join(outdir, "stacks", "fleet", "cdk.tf.json"), process.env.BENCH_KEEP_JSON);
const json = JSON.parse(fs.readFileSync(path.join(outdir, "stacks", "fleet", "cdk.tf.json"), "utf8"));
const all = Object.values<Record<string, { provisioner: { "remote-exec": { inline: string[] } }[] }>>(json.resource).flatMap((r) => Object.values(r));
const scriptBytes = all.reduce((n, r) => n + r.provisioner[0]["remote-exec"].inline[0].length, 0);
process.stdout.write(
  JSON.stringify({
    ms: Number(done - started) / 1e6,
    synthMs: Number(done - built) / 1e6,
    synthCpuMs: (cpu.user + cpu.system) / 1000,
    proofMs: proof.ms,
    proofRenderMs: proof.renderMs,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    resources: all.length,
    scriptBytes,
  }) + "\n",
);

/** Raw cdktf constructs for every null_resource of `tf`, at the same paths, with the same content. */
function rebuild(tf: Record<string, any>): void {
  const stack = new TerraformStack(app, "fleet");
  new NullProvider(stack, "null");
  const scopes = new Map<string, Construct>([["fleet", stack]]);
  const scopeOf = (p: string): Construct => {
    let scope = scopes.get(p);
    if (!scope) {
      const cut = p.lastIndexOf("/");
      scope = new Construct(scopeOf(p.slice(0, cut)), p.slice(cut + 1));
      scopes.set(p, scope);
    }
    return scope;
  };
  const camel = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]));
  for (const r of Object.values<any>(tf.resource.null_resource)) {
    const p: string = r["//"].metadata.path;
    const cut = p.lastIndexOf("/");
    const resource = new Resource(scopeOf(p.slice(0, cut)), p.slice(cut + 1), {
      triggers: r.triggers,
      connection: camel(r.connection) as never,
      provisioners: [{ type: "remote-exec", inline: r.provisioner[0]["remote-exec"].inline }],
    });
    if (r.depends_on) resource.addOverride("depends_on", r.depends_on);
  }
}

/**
 * Times the proof inside app.synth(): every proveDom0 call, and within it
 * the rendering of the hosts' files (which synth needs anyway, and keeps for
 * the deploy steps), so that proofMs - proofRenderMs is what the proof adds.
 */
function timeProof(): { ms: number; renderMs: number } {
  const timing = { ms: 0, renderMs: 0 };
  let inProof = false;
  const prove = require("../lib/private/prove") as { proveDom0: (...a: unknown[]) => unknown };
  const real = prove.proveDom0;
  prove.proveDom0 = (...a: unknown[]) => {
    const t = process.hrtime.bigint();
    inProof = true;
    try {
      return real(...a);
    } finally {
      inProof = false;
      timing.ms += Number(process.hrtime.bigint() - t) / 1e6;
    }
  };
  for (const cls of [RoutedDomU, XenHost] as { prototype: { _hostFiles: (...a: unknown[]) => unknown } }[]) {
    const render = cls.prototype._hostFiles;
    cls.prototype._hostFiles = function (this: unknown, ...a: unknown[]) {
      if (!inProof) return render.apply(this, a);
      const t = process.hrtime.bigint();
      try {
        return render.apply(this, a);
      } finally {
        timing.renderMs += Number(process.hrtime.bigint() - t) / 1e6;
      }
    };
  }
  return timing;
}

/** The app's context, as the environment gives it. */
function benchContext(): Record<string, boolean> {
  return { [PREVIEW_CONTEXT_KEY]: process.env.BENCH_PREVIEW !== "0", [PROVE_CONTEXT_KEY]: process.env.BENCH_PROVE !== "0", [STACK_JSON_CONTEXT_KEY]: process.env.BENCH_STACK_JSON !== "0" };
}

/** One synth of the same fleet, not measured, into a directory of its own that is removed after. */
function warmUp(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-xen-bench-warm-"));
  try {
    const first = new App({ outdir: dir, context: benchContext() });
    buildFleet(first, Number(dom0sArg), 40, 4);
    first.synth();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
