/**
 * What the library generates, kept: every file under the synthesized stack
 * directory (cdk.tf.json, topology.json and the preview of every host's
 * files) of the example, both engines, and every lab scenario and variant,
 * by SHA-256. A change to any of them fails here, naming the files, until
 * it is meant: `UPDATE_GOLDEN=1 npx jest test/golden.test.ts` writes the new
 * hashes, and the diff of test/golden/files.json shows what changed in the
 * review. Moving code around (the redesign) must leave this file alone.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { App } from "cdktf";
import { WebservStack } from "../examples/webserv/main";
import { ENGINE_CONTEXT_KEY } from "../lib/deploy/engine";
import { buildScenario, SCENARIOS, Variant } from "../lib/lab/scenarios";
import { PROOF_CACHE_FILE } from "../lib/private/proof-cache";
import { tempDir } from "./support/tools";

const GOLDEN = path.join(__dirname, "golden", "files.json");
const VARIANTS: Variant[] = ["base", "changed", "broken", "nftables", "hand-made", "one-vif", "networkd", "netplan"];

/** Every file under `dir`, by its path there, hashed. */
function hashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else {
        // cdktf names the local state file by the absolute directory the app runs in: the one part that depends on where the checkout is.
        const bytes = fs.readFileSync(path.join(dir, p));
        out[p] = createHash("sha256").update(p.endsWith(".json") ? bytes.toString("utf8").split(process.cwd()).join("<cwd>") : bytes).digest("hex");
      }
    }
  };
  walk("");
  return out;
}

/** Synthesizes what `build` adds to an app, and hashes the stack's directory. */
function synthesized(build: (app: App) => void, stack: string, engine: string): Record<string, string> {
  const out = tempDir();
  try {
    const app = new App({ outdir: out.dir, context: { [ENGINE_CONTEXT_KEY]: engine } });
    build(app);
    app.synth();
    const dir = path.join(out.dir, "stacks", stack);
    const all = hashes(dir);
    // Synth leaves an empty plan file and its .gitignore beside the output: not generated content. The proofs
    // remembered are keyed by a hash of the library's code, which any change of the code changes (test/reachability/proof-cache.test.ts).
    delete all["plan"];
    delete all[PROOF_CACHE_FILE];
    return all;
  } finally {
    out.remove();
  }
}

function current(): Record<string, Record<string, string>> {
  const all: Record<string, Record<string, string>> = {};
  for (const engine of ["null_resource", "terraform_data"]) {
    all[`example webserv (${engine})`] = synthesized((app) => new WebservStack(app, "webserv"), "webserv", engine);
  }
  for (const scenario of SCENARIOS) for (const variant of VARIANTS) all[`lab ${scenario} ${variant}`] = synthesized((app) => buildScenario(app, scenario, variant), "lab", "terraform_data");
  return all;
}

describe("golden: what the library generates does not change unless meant to", () => {
  it("every file of the example and of the lab's scenarios has the hash kept in test/golden/files.json", () => {
    const now = current();
    if (process.env.UPDATE_GOLDEN === "1") fs.writeFileSync(GOLDEN, JSON.stringify(now, null, 2) + "\n");
    const kept: Record<string, Record<string, string>> = JSON.parse(fs.readFileSync(GOLDEN, "utf8"));
    // Per case, the files added, removed or changed: what a reviewer needs to look at.
    const changes = (a: Record<string, string> = {}, b: Record<string, string> = {}) =>
      [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((f) => a[f] !== b[f]).map((f) => `${f}: ${a[f] === undefined ? "added" : b[f] === undefined ? "removed" : "changed"}`);
    const diff = Object.fromEntries([...new Set([...Object.keys(kept), ...Object.keys(now)])].map((c) => [c, changes(kept[c], now[c])]).filter(([, d]) => d.length));
    expect(diff).toEqual({});
    expect(Object.keys(now).length).toBe(2 + SCENARIOS.length * VARIANTS.length);
  });
});
