/**
 * The public API as other languages get it. `npm run jsii` compiles lib/ (the
 * lab excluded) with jsii, --fail-on-warnings, and generates the Python
 * package with jsii-pacmak. The jsii runtime (the process that every jsii
 * language, Python included, talks to) then loads the assembly from that
 * package and builds an app through the jsii protocol, as the Python package
 * would: it must synthesize what the same app synthesizes in TypeScript.
 */
import { ChildProcessWithoutNullStreams, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as readline from "readline";
import * as ts from "typescript";
import { App, TerraformStack } from "cdktf";
import { ForwardRule, Peer, Port, RoutedDomU, WebVhost, XenHost } from "../lib";
import { PROOF_CACHE_FILE } from "../lib/private/proof-cache";
import { provenKeys } from "./support/proven-keys";
import { describeWith, listFiles, run, tempDir } from "./support/tools";

const ROOT = path.resolve(__dirname, "..");
const MINUTES = 60 * 1000;
const PYTHON_SRC = path.join(ROOT, "dist", "python", "python", "src", "cdktf_xen");
/** The jsii runtime, as .ci/run unpacks it from npm (`@jsii/runtime`). */
const JSII_RUNTIME = process.env.JSII_RUNTIME ?? "/opt/jsii-runtime/package/webpack/bin/jsii-runtime.js";

let built: ReturnType<typeof run>;
beforeAll(() => {
  built = run("npm", ["run", "--silent", "jsii"], { cwd: ROOT });
}, 5 * MINUTES);

/** The classes and interfaces the package's main entry exports (type aliases are not types in jsii). */
function exportedTypes(): string[] {
  const program = ts.createProgram([path.join(ROOT, "lib", "index.ts")], { strict: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(path.join(ROOT, "lib", "index.ts"))!)!;
  return checker
    .getExportsOfModule(module)
    .map((s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s))
    .filter((s) => s.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface))
    .map((s) => s.name)
    .sort();
}

describe("the public API under jsii", () => {
  it("compiles with no warning but Python's reserved word `from`; the assembly holds every class and interface the package exports", () => {
    expect({ status: built.status, output: built.status === 0 ? "" : built.stdout + built.stderr }).toEqual({ status: 0, output: "" });
    const assembly = JSON.parse(fs.readFileSync(path.join(ROOT, "dist", "jsii", ".jsii"), "utf8"));
    expect(Object.keys(assembly.types).sort()).toEqual(exportedTypes().map((n) => `cdktf-xen.${n}`));
    expect(exportedTypes()).toEqual(expect.arrayContaining(["XenHost", "RoutedDomU", "WebVhost", "ForwardRule", "Port", "Peer", "Connections", "XenHostProps"]));
    expect(assembly.dependencies).toEqual({ cdktf: expect.any(String), constructs: expect.any(String) });
  });
});

describeWith(["python3"], "the Python package jsii-pacmak generates", () => {
  it("parses as Python, and names the API as Python users write it (snake_case, `from_`)", () => {
    const files = fs.readdirSync(PYTHON_SRC, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".py"));
    expect(files.sort()).toEqual(["__init__.py", path.join("_jsii", "__init__.py")]);
    const parse = run("python3", ["-c", "import ast, sys\nfor f in sys.argv[1:]: ast.parse(open(f).read(), f)", ...files.map((f) => path.join(PYTHON_SRC, f))]);
    expect({ status: parse.status, stderr: parse.stderr }).toEqual({ status: 0, stderr: "" });
    const init = fs.readFileSync(path.join(PYTHON_SRC, "__init__.py"), "utf8");
    for (const name of exportedTypes()) expect(init).toMatch(new RegExp(`^class ${name}\\b`, "m"));
    expect(init).toMatch(/^ {4}def allow_from_any_ipv4\(self, port: "Port"\) -> None:$/m);
    expect(init).toMatch(/^ {8}from_: typing\.Optional\[typing\.Sequence\[builtins\.str\]\] = None,$/m);
    expect(init).toMatch(/^ {4}def tcp_range\(cls, first: jsii\.Number, last: jsii\.Number\) -> "Port":$/m);
    // The README's Python example uses names the package has: its classes, methods and keyword arguments.
    const example = /```python\n([\s\S]*?)```/.exec(fs.readFileSync(path.join(ROOT, "README.md"), "utf8"))![1];
    const classes = [...example.matchAll(/\b([A-Z]\w+)\(/g)].map((m) => m[1]);
    const methods = [...example.matchAll(/\.([a-z]\w*)\(/g)].map((m) => m[1]);
    const keywords = [...example.matchAll(/\b([a-z_]\w*)=/g)].map((m) => m[1]);
    expect(classes.length * methods.length * keywords.length).toBeGreaterThan(0);
    expect(classes.filter((c) => !new RegExp(`^class ${c}\\b`, "m").test(init))).toEqual([]);
    expect(methods.filter((m) => !new RegExp(`^ {4}def ${m}\\(`, "m").test(init))).toEqual([]);
    expect(keywords.filter((k) => !new RegExp(`^ {8}${k}: `, "m").test(init))).toEqual([]);
    // The package carries the assembly's tarball, which the runtime loads.
    expect(fs.readdirSync(path.join(PYTHON_SRC, "_jsii"))).toContain("cdktf-xen@0.1.0.jsii.tgz");
  });
});

/** A client of the jsii runtime: one JSON request per line in, one response per line out. */
class JsiiClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiting?: (line: string) => void;

  constructor(runtime: string) {
    this.child = spawn(process.execPath, [runtime], { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stderr.resume();
    readline.createInterface({ input: this.child.stdout }).on("line", (l) => {
      const w = this.waiting;
      this.waiting = undefined;
      if (w) w(l);
      else this.lines.push(l);
    });
  }

  async next(): Promise<Record<string, unknown>> {
    const line = this.lines.shift() ?? (await new Promise<string>((resolve) => (this.waiting = resolve)));
    return JSON.parse(line);
  }

  /** A request's `ok`, or throws its `error`. */
  async ok(request: Record<string, unknown>): Promise<unknown> {
    const response = await this.request(request);
    if (!("ok" in response)) throw new Error(`jsii: ${JSON.stringify(response)}`);
    return response.ok;
  }

  async request(request: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.child.stdin.write(`${JSON.stringify(request)}\n`);
    return this.next();
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.stdin.write(`${JSON.stringify({ exit: 0 })}\n`);
    this.child.stdin.end();
    await exited;
  }
}

/** The app both sides build: a dom0, a guest of two addresses with a site, a forward rule, a connection by intent. */
const DOM0 = { ssh: { host: "198.51.100.2" }, uplink: { device: "eth0", address: "192.0.2.1/24" }, firewall: { managementCidrs: ["198.51.100.0/30"] } };
const WEB = {
  disks: ["phy:/dev/vg0/web,xvda,w"],
  vifs: [
    { mac: "00:16:3e:00:00:10", address: "192.0.2.10/24" },
    { mac: "00:16:3e:00:00:11", address: "192.0.2.11/24" },
  ],
};
const SITE = { address: "192.0.2.11", serverName: "b.example.org", documentRoot: "/var/www/site-b" };

describeWith([JSII_RUNTIME], "the assembly in the jsii runtime, as the Python package loads it", () => {
  let tmp: ReturnType<typeof tempDir>;
  let client: JsiiClient;
  beforeAll(async () => {
    tmp = tempDir("cdktf-xen-jsii-");
    client = new JsiiClient(JSII_RUNTIME);
    expect(await client.next()).toEqual({ hello: expect.stringMatching(/^@jsii\/runtime@/) });
    // The dependencies' assemblies as their Python packages carry them (npm pack of the installed package), then ours from the generated package.
    for (const name of ["constructs", "cdktf"]) {
      const packed = run("npm", ["pack", path.join(ROOT, "node_modules", name), "--pack-destination", tmp.dir]);
      expect(packed.status).toBe(0);
      const version = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
      await client.ok({ api: "load", name, version, tarball: path.join(tmp.dir, packed.stdout.trim().split("\n").pop()!) });
    }
    const loaded = await client.ok({ api: "load", name: "cdktf-xen", version: "0.1.0", tarball: path.join(PYTHON_SRC, "_jsii", "cdktf-xen@0.1.0.jsii.tgz") });
    expect(loaded).toEqual({ assembly: "cdktf-xen", types: exportedTypes().length });
  }, 5 * MINUTES);
  afterAll(async () => {
    await client?.close();
    tmp?.remove();
  });

  it("builds and synthesizes an app through the jsii protocol: every file of the stack byte for byte what TypeScript synthesizes", async () => {
    const viaJsii = path.join(tmp.dir, "jsii-out");
    const app = await client.ok({ api: "create", fqn: "cdktf.App", args: [{ outdir: viaJsii }] });
    const stack = await client.ok({ api: "create", fqn: "cdktf.TerraformStack", args: [app, "web"] });
    const dom0 = await client.ok({ api: "create", fqn: "cdktf-xen.XenHost", args: [stack, "dom0", DOM0] });
    const web = await client.ok({ api: "create", fqn: "cdktf-xen.RoutedDomU", args: [dom0, "web", WEB] });
    await client.ok({ api: "create", fqn: "cdktf-xen.WebVhost", args: [web, "site-b", SITE] });
    await client.ok({ api: "create", fqn: "cdktf-xen.ForwardRule", args: [dom0, "http", { to: web, ports: [80] }] });
    const connections = (await client.ok({ api: "get", objref: web, property: "connections" })) as { value: unknown };
    const peer = (await client.ok({ api: "sinvoke", fqn: "cdktf-xen.Peer", method: "ipv4", args: ["203.0.113.0/24"] })) as { result: unknown };
    const port = (await client.ok({ api: "sinvoke", fqn: "cdktf-xen.Port", method: "udpRange", args: [5000, 5010] })) as { result: unknown };
    await client.ok({ api: "invoke", objref: connections.value, method: "allowFrom", args: [peer.result, port.result] });
    expect(await client.ok({ api: "get", objref: web, property: "addresses" })).toEqual({ value: ["192.0.2.10", "192.0.2.11"] });
    await client.ok({ api: "invoke", objref: app, method: "synth", args: [] });

    const inTs = path.join(tmp.dir, "ts-out");
    const tsApp = new App({ outdir: inTs });
    const tsDom0 = new XenHost(new TerraformStack(tsApp, "web"), "dom0", DOM0);
    const tsWeb = new RoutedDomU(tsDom0, "web", WEB);
    new WebVhost(tsWeb, "site-b", SITE);
    new ForwardRule(tsDom0, "http", { to: tsWeb, ports: [80] });
    tsWeb.connections.allowFrom(Peer.ipv4("203.0.113.0/24"), Port.udpRange(5000, 5010));
    tsApp.synth();

    const a = path.join(viaJsii, "stacks", "web");
    const b = path.join(inTs, "stacks", "web");
    expect(listFiles(a)).toEqual(listFiles(b));
    expect(listFiles(a)).toEqual(expect.arrayContaining(["cdk.tf.json", "topology.json", "hosts/web/etc/apache2/ports.conf"]));
    // The proofs remembered are keyed by the code each side runs (compiled in the assembly, TypeScript here): one each, as the app has one dom0.
    expect(provenKeys(a)).toHaveLength(1);
    expect(provenKeys(b)).toHaveLength(1);
    for (const f of listFiles(a).filter((f) => f !== PROOF_CACHE_FILE)) {
      const text = (dir: string) => fs.readFileSync(path.join(dir, f), "utf8").split(dir).join("<out>");
      expect({ file: f, text: text(a) }).toEqual({ file: f, text: text(b) });
    }
    expect(fs.readFileSync(path.join(a, "hosts", "dom0", "etc", "iptables", "rules.v4"), "utf8")).toMatch(/-s 203\.0\.113\.0\/24 .*--dport 5000:5010/);
  }, 3 * MINUTES);

  it("an invalid prop fails in the runtime with the message TypeScript users get (path, prop, value, what is allowed)", async () => {
    const app = await client.ok({ api: "create", fqn: "cdktf.App", args: [{ outdir: path.join(tmp.dir, "bad") }] });
    const stack = await client.ok({ api: "create", fqn: "cdktf.TerraformStack", args: [app, "web"] });
    const bad = { ...DOM0, uplink: { device: "eth0", address: "192.0.2.300/24" } };
    const response = await client.request({ api: "create", fqn: "cdktf-xen.XenHost", args: [stack, "dom0", bad] });
    let expected = "";
    try {
      new XenHost(new TerraformStack(new App({ outdir: path.join(tmp.dir, "bad-ts") }), "web"), "dom0", bad);
    } catch (e) {
      expected = (e as Error).message;
    }
    expect(expected).toMatch(/^web\/dom0: uplink\.address "192\.0\.2\.300\/24" is invalid: /);
    expect(response.error).toBe(expected);
  });
});
