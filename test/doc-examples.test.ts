/**
 * The `@example` of every construct's doc comment, as one program (in the
 * order a stack is written: dom0, guest, vhost, rules): type-checked by
 * ts-node and synthesized, so that no example in the API reference is stale.
 */
import * as fs from "fs";
import * as path from "path";
import { run, tempDir } from "./support/tools";

const ROOT = path.resolve(__dirname, "..");
const CONSTRUCTS = ["xen-host", "routed-domu", "web-vhost", "forward-rule", "connections/connections"];

/** The lines of each `@example` block of a source file, without the comment's ` * `. */
function examples(file: string): string[] {
  const out: string[] = [];
  let inside = false;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (/^\s*\*\s*@example\s*$/.test(line)) inside = true;
    else if (inside && /^\s*\*\/|^\s*\*\s*@/.test(line)) inside = false;
    else if (inside) out.push(line.replace(/^\s*\* ?/, ""));
  }
  return out;
}

describe("the constructs' and connections' @example code", () => {
  it("every construct has one, and together they type-check and synthesize", () => {
    const blocks = CONSTRUCTS.map((c) => examples(path.join(ROOT, "lib", `${c}.ts`)));
    expect(blocks.map((b) => b.length > 0)).toEqual(CONSTRUCTS.map(() => true));
    const tmp = tempDir();
    try {
      const program = [
        `import { App, TerraformStack, TerraformVariable } from ${JSON.stringify(path.join(ROOT, "node_modules", "cdktf"))};`,
        `import { ForwardRule, Peer, Port, RoutedDomU, WebVhost, XenHost } from ${JSON.stringify(path.join(ROOT, "lib"))};`,
        `const app = new App({ outdir: ${JSON.stringify(path.join(tmp.dir, "out"))} });`,
        'const stack = new TerraformStack(app, "example");',
        ...blocks.flat(),
        "app.synth();",
        "",
      ].join("\n");
      const file = path.join(tmp.dir, "example.ts");
      fs.writeFileSync(file, program);
      const r = run(process.execPath, ["-r", require.resolve("ts-node/register"), file], { cwd: ROOT, env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json"), TS_NODE_FILES: "false" } });
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
      expect(fs.existsSync(path.join(tmp.dir, "out", "stacks", "example", "hosts", "dom0", "etc", "xen", "web.cfg"))).toBe(true);
    } finally {
      tmp.remove();
    }
  }, 60_000);
});
