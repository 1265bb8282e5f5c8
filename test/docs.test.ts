/**
 * The API reference (docs/api) is generated from the doc comments by
 * `npm run docs` (typedoc, typedoc.json): it must be what the sources
 * generate now, and typedoc refuses a public member without documentation.
 */
import * as fs from "fs";
import * as path from "path";
import { listFiles, run, tempDir } from "./support/tools";

const ROOT = path.resolve(__dirname, "..");
const TYPEDOC = path.join(ROOT, "node_modules", "typedoc", "bin", "typedoc");
const MINUTES = 60 * 1000;

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir("cdktf-xen-docs-");
});
afterAll(() => tmp.remove());

describe("the API reference", () => {
  it("docs/api is what `npm run docs` generates from the sources now, with no warning", () => {
    const out = path.join(tmp.dir, "api");
    const r = run(process.execPath, [TYPEDOC, "--out", out], { cwd: ROOT });
    expect({ status: r.status, output: r.status === 0 ? "" : r.stdout + r.stderr }).toEqual({ status: 0, output: "" });
    const committed = path.join(ROOT, "docs", "api");
    const stale = "docs/api is stale: run `npm run docs` and commit it";
    expect({ stale, files: listFiles(committed) }).toEqual({ stale, files: listFiles(out) });
    for (const f of listFiles(out)) {
      expect({ stale, file: f, text: fs.readFileSync(path.join(committed, f), "utf8") }).toEqual({ stale, file: f, text: fs.readFileSync(path.join(out, f), "utf8") });
    }
    // The three entry points, under the names users import.
    expect(listFiles(out)).toEqual(["README.md", "cdktf-xen.md", "cdktf-xen/lab.md", "cdktf-xen/testing.md"]);
    expect(fs.readFileSync(path.join(out, "cdktf-xen.md"), "utf8")).toMatch(/^### XenHost$/m);
  }, 2 * MINUTES);

  it("refuses a public member without documentation (the generation fails, naming it)", () => {
    // The sources with one doc comment taken away.
    const copy = path.join(tmp.dir, "copy");
    fs.mkdirSync(copy);
    fs.cpSync(path.join(ROOT, "lib"), path.join(copy, "lib"), { recursive: true });
    for (const f of ["tsconfig.json", "tsconfig.build.json", "typedoc.json", "package.json"]) fs.copyFileSync(path.join(ROOT, f), path.join(copy, f));
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(copy, "node_modules"));
    const file = path.join(copy, "lib", "connections", "connections.ts");
    const text = fs.readFileSync(file, "utf8");
    const doc = "  /** Lets any IPv4 address reach `port` of this construct. */\n";
    expect(text).toContain(doc);
    fs.writeFileSync(file, text.replace(doc, ""));
    const r = run(process.execPath, [TYPEDOC, "--out", path.join(copy, "api")], { cwd: copy });
    expect(r.status).not.toBe(0);
    expect((r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, "")).toMatch(/Connections\.allowFromAnyIpv4 \(CallSignature\), defined in .*, does not have any documentation/);
  }, 2 * MINUTES);
});
