/**
 * cdk.tf.json as the library writes it: byte for byte what the CDK's own
 * serializer writes (json-stable-stringify for cdktf, safe-stable-stringify
 * for cdktn), checked against those very modules; left to the CDK when the
 * document holds anything but plain JSON data; never half-written.
 */
import * as fs from "fs";
import * as path from "path";
import { App, Aspects, TerraformStack, Testing, Tokenization } from "cdktf";
import { IConstruct } from "constructs";
import { WebservStack } from "../examples/webserv/main";
import * as stackJsonModule from "../lib/private/stack-json";
import { JsonStyle, stableJson, writeStableJson } from "../lib/private/stack-json";
import { ENGINE_CONTEXT_KEY } from "../lib/deploy/engine";
import { STACK_JSON_CONTEXT_KEY } from "../lib/private/stack-support";
import { stepResources } from "./support/step-resources";
import { describeWith, run, tempDir } from "./support/tools";

/** The CDK's serializer, from the CDK's own dependencies. */
function serializer(style: JsonStyle): (value: unknown) => string {
  const cdk = style === "json-stable-stringify" ? "cdktf" : "cdktn";
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const stringify = require(require.resolve(style, { paths: [path.dirname(require.resolve(cdk))] }));
  return style === "json-stable-stringify" ? (v) => stringify(v, { space: 2 }) : (v) => stringify(v, null, 2);
}

const STYLES: JsonStyle[] = ["json-stable-stringify", "safe-stable-stringify"];

function ours(value: unknown, style: JsonStyle): string | false {
  let text = "";
  return stableJson(value, style, (t) => (text += t)) ? text : false;
}

/** A pseudo-random generator of plain JSON data, the same on every run. */
function generator(seed: number) {
  let s = seed >>> 0;
  const next = (n: number): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
  const STRINGS = ["", "a", "b", "B", "é", "\u0000\u001f", 'say "hi"\\', "line\nnext\ttab", "\ud800 lone", "😀 pair", "\u2028\u2029", "#!/bin/sh\nset -eu\n", "10", "9", "__proto__", "//", "-1", "1e3"];
  const NUMBERS = [0, -0, 1, -1, 0.1, 1e21, 1.5e-7, 2 ** 53, NaN, Infinity, -Infinity, 123456789.125];
  const key = () => STRINGS[next(STRINGS.length)] + (next(3) === 0 ? String(next(20)) : "");
  // Members are defined, not assigned: assigning "__proto__" would set the prototype.
  const put = (o: Record<string, unknown>, depth: number) => Object.defineProperty(o, key(), { value: value(depth), enumerable: true, writable: true, configurable: true });
  const value = (depth: number): unknown => {
    const kind = next(depth > 4 ? 6 : 10);
    switch (kind) {
      case 0:
        return STRINGS[next(STRINGS.length)];
      case 1:
        return NUMBERS[next(NUMBERS.length)];
      case 2:
        return next(2) === 0;
      case 3:
        return null;
      case 4:
        return undefined;
      case 5:
        return STRINGS[next(STRINGS.length)].repeat(next(4));
      case 6:
      case 7:
        return Array.from({ length: next(5) }, () => value(depth + 1));
      default: {
        const o: Record<string, unknown> = next(5) === 0 ? Object.create(null) : {};
        for (let i = next(6); i > 0; i--) put(o, depth + 1);
        return o;
      }
    }
  };
  return () => {
    const root: Record<string, unknown> = {};
    for (let i = next(8); i >= 0; i--) put(root, 1);
    return root;
  };
}

describe("cdk.tf.json's writer: the CDK's serializer's bytes, piece by piece", () => {
  it.each(STYLES)("%s: 2,000 generated documents of plain JSON data (empty and undefined members, escapes, lone surrogates, odd numbers, keys that sort oddly)", (style) => {
    const theirs = serializer(style);
    const next = generator(style.length);
    for (let i = 0; i < 2000; i++) {
      const doc = next();
      expect({ i, text: ours(doc, style) }).toEqual({ i, text: theirs(doc) });
    }
  });

  it.each(STYLES)("%s: a document larger than one piece, given in pieces that join to the same text", (style) => {
    const doc = { resource: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`r${i}`, { script: `#!/bin/sh\n# ${i}\n` + "x".repeat(10_000), list: [i, {}, [], null] }])) };
    const pieces: string[] = [];
    expect(stableJson(doc, style, (t) => pieces.push(t))).toBe(true);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join("")).toBe(serializer(style)(doc));
  });

  class Thing {
    readonly a = 1;
  }
  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = { back: cycle };
  const NOT_PLAIN: [string, unknown][] = [
    ["a Date", { when: new Date(0) }],
    ["an object with toJSON", { x: { toJSON: () => "y" } }],
    ["a class instance", { x: new Thing() }],
    ["a Map", { x: new Map([["a", 1]]) }],
    ["a bigint", { x: [BigInt(1)] }],
    ["a function", { x: () => 1 }],
    ["a symbol", { x: Symbol("s") }],
    ["a cycle", cycle],
    ["undefined", undefined],
  ];
  it.each(NOT_PLAIN)("stops at %s: left to the CDK's serializer", (_, doc) => {
    for (const style of STYLES) expect(ours(doc, style)).toBe(false);
  });

  it("writeStableJson writes all of it when a write is short, multi-byte characters too", () => {
    const tmp = tempDir();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const realFs = require("fs") as typeof fs;
    const write = realFs.writeSync;
    try {
      const file = path.join(tmp.dir, "cdk.tf.json");
      const doc = { a: "é😀".repeat(40_000), b: "x".repeat(100_000), c: ["ü", {}] };
      // Every write of a string takes its first 1,000 bytes only.
      jest.spyOn(realFs, "writeSync").mockImplementation(((fd: number, data: string | Uint8Array, ...rest: unknown[]) =>
        typeof data === "string" ? write(fd, Buffer.from(data, "utf8").subarray(0, 1000)) : (write as (...a: unknown[]) => number)(fd, data, ...rest)) as typeof fs.writeSync);
      expect(writeStableJson(file, doc, "json-stable-stringify")).toBe(true);
      jest.restoreAllMocks();
      expect(fs.readFileSync(file, "utf8")).toBe(serializer("json-stable-stringify")(doc));
    } finally {
      jest.restoreAllMocks();
      tmp.remove();
    }
  });

  it("writeStableJson writes the file, or, for a document that is not plain, leaves none", () => {
    const tmp = tempDir();
    try {
      const file = path.join(tmp.dir, "cdk.tf.json");
      const doc = { a: [1, { b: "c" }], d: {} };
      expect(writeStableJson(file, doc, "json-stable-stringify")).toBe(true);
      expect(fs.readFileSync(file, "utf8")).toBe(serializer("json-stable-stringify")(doc));
      const other = path.join(tmp.dir, "other.json");
      expect(writeStableJson(other, { when: new Date(0) }, "json-stable-stringify")).toBe(false);
      expect(fs.existsSync(other)).toBe(false);
    } finally {
      tmp.remove();
    }
  });
});

type Json = Record<string, any>;

describe("cdk.tf.json at synth", () => {
  function synth(configure: (app: App, stack: TerraformStack) => void = () => undefined, context: Record<string, unknown> = {}) {
    const tmp = tempDir();
    const app = new App({ outdir: tmp.dir, context });
    const stack = new WebservStack(app, "webserv");
    configure(app, stack);
    const dir = path.join(tmp.dir, "stacks", "webserv");
    return { app, stack, dir, file: path.join(dir, "cdk.tf.json"), remove: tmp.remove };
  }
  let writes: jest.SpyInstance;
  beforeEach(() => (writes = jest.spyOn(stackJsonModule, "writeStableJson")));
  afterEach(() => jest.restoreAllMocks());

  it("the example's cdk.tf.json is written by the library, byte for byte what cdktf's serializer makes of the stack, and nothing is left beside it", () => {
    const s = synth();
    try {
      s.app.synth();
      expect(writes).toHaveBeenCalledTimes(1);
      expect(fs.readFileSync(s.file, "utf8")).toBe(serializer("json-stable-stringify")(s.stack.toTerraform()));
      expect(fs.readdirSync(s.dir).filter((f) => f.startsWith("cdk.tf.json"))).toEqual(["cdk.tf.json"]);
    } finally {
      s.remove();
    }
  });

  it(`with "${STACK_JSON_CONTEXT_KEY}": false cdktf writes it, the same bytes`, () => {
    const a = synth();
    const b = synth(undefined, { [STACK_JSON_CONTEXT_KEY]: false });
    try {
      a.app.synth();
      b.app.synth();
      expect(writes).toHaveBeenCalledTimes(1);
      const text = (f: string, root: string) => fs.readFileSync(f, "utf8").split(root).join("<outdir>");
      expect(text(b.file, path.dirname(path.dirname(b.dir)))).toBe(text(a.file, path.dirname(path.dirname(a.dir))));
    } finally {
      a.remove();
      b.remove();
    }
  });

  it("a step resource's body is resolved once: cdktf's second pass over the whole document walks a marker in its place", () => {
    const s = synth();
    const resolve = jest.spyOn(Tokenization, "resolve");
    try {
      s.app.synth();
      const ids = stepResources(s.stack).map((r) => r.friendlyUniqueId);
      expect(ids.length).toBeGreaterThan(10);
      // cdktf's last resolve of the stack is given the merged document: its metadata beside the resources.
      const documents = resolve.mock.calls.map(([obj]) => obj as Json).filter((obj) => obj?.["//"]?.metadata && obj.resource);
      expect(documents.length).toBeGreaterThan(0);
      for (const doc of documents) {
        for (const id of ids) expect(doc.resource.null_resource[id]).toMatch(/^cdktf-xen:resolved-once:[0-9a-f-]{36}:\d+$/);
      }
      const text = fs.readFileSync(s.file, "utf8");
      expect(text).not.toContain("cdktf-xen:resolved-once");
      for (const id of ids) expect(typeof JSON.parse(text).resource.null_resource[id].provisioner[0]["remote-exec"].inline[0]).toBe("string");
    } finally {
      s.remove();
    }
  });

  it("a stack override of a step resource: the document is built as cdktf builds it, override included, the same bytes", () => {
    const override = (_: App, stack: TerraformStack) => stack.addOverride(`resource.null_resource.${stepResources(stack)[0].friendlyUniqueId}.connection.timeout`, "5s");
    const a = synth(override);
    const b = synth(override, { [STACK_JSON_CONTEXT_KEY]: false });
    try {
      a.app.synth();
      b.app.synth();
      const text = (f: string, root: string) => fs.readFileSync(f, "utf8").split(root).join("<outdir>");
      const ours = text(a.file, path.dirname(path.dirname(a.dir)));
      expect(ours).toBe(text(b.file, path.dirname(path.dirname(b.dir))));
      expect(ours).not.toContain("cdktf-xen:resolved-once");
      const connection = JSON.parse(ours).resource.null_resource[stepResources(a.stack)[0].friendlyUniqueId].connection;
      expect(connection).toMatchObject({ timeout: "5s", type: "ssh", host: "203.0.113.10" });
    } finally {
      a.remove();
      b.remove();
    }
  });

  it("an aspect that asks for the stack's JSON during synth gets the stack's JSON; the file is the library's", () => {
    let seen: Record<string, unknown> | undefined;
    const s = synth((_, stack) =>
      Aspects.of(stack).add({
        visit(node: IConstruct) {
          if (node === stack) seen = stack.toTerraform();
        },
      }),
    );
    try {
      s.app.synth();
      expect(Object.keys(seen ?? {})).toEqual(expect.arrayContaining(["resource", "terraform"]));
      expect(writes).toHaveBeenCalledTimes(1);
      expect(JSON.parse(fs.readFileSync(s.file, "utf8")).resource).toBeDefined();
    } finally {
      s.remove();
    }
  });

  it("a document with something that is not plain JSON data is written by cdktf, as cdktf writes it", () => {
    const s = synth((_, stack) => {
      const real = stack.toTerraform;
      stack.toTerraform = function (this: TerraformStack) {
        return { ...real.call(this), "//": { written: new Date(0) } };
      };
    });
    try {
      s.app.synth();
      expect(writes).toHaveBeenCalledTimes(1);
      expect(writes.mock.results[0].value).toBe(false);
      const text = fs.readFileSync(s.file, "utf8");
      expect(text).toContain(`"written": "1970-01-01T00:00:00.000Z"`);
      expect(text).toBe(serializer("json-stable-stringify")(s.stack.toTerraform()));
    } finally {
      s.remove();
    }
  });

  it("a synth that fails writing the file leaves the cdk.tf.json it found as it was, and no partial file", () => {
    const s = synth();
    try {
      s.app.synth();
      const before = fs.readFileSync(s.file, "utf8");
      fs.mkdirSync(`${s.file}.partial`);
      fs.writeFileSync(path.join(`${s.file}.partial`, "x"), "");
      expect(() => s.app.synth()).toThrow(/EISDIR|is a directory/i);
      expect(fs.readFileSync(s.file, "utf8")).toBe(before);
      fs.rmSync(`${s.file}.partial`, { recursive: true });
      s.app.synth();
      expect(fs.readFileSync(s.file, "utf8")).toBe(before);
      expect(fs.existsSync(`${s.file}.partial`)).toBe(false);
    } finally {
      s.remove();
    }
  });

  it("HCL output (SYNTH_HCL_OUTPUT=true) is cdktf's to write: cdk.tf, and no cdk.tf.json", () => {
    process.env.SYNTH_HCL_OUTPUT = "true";
    let s: ReturnType<typeof synth>;
    try {
      s = synth();
    } finally {
      delete process.env.SYNTH_HCL_OUTPUT;
    }
    try {
      s.app.synth();
      expect(writes).not.toHaveBeenCalled();
      expect(fs.readdirSync(s.dir).filter((f) => f.startsWith("cdk.tf"))).toEqual(["cdk.tf"]);
      expect(fs.readFileSync(path.join(s.dir, "cdk.tf"), "utf8")).toContain(`resource "null_resource"`);
    } finally {
      s.remove();
    }
  });

  it("Testing.fullSynth, as a user's unit test calls it, gets the same bytes", () => {
    const app = Testing.app();
    const stack = new WebservStack(app, "webserv");
    const out = Testing.fullSynth(stack);
    const text = fs.readFileSync(path.join(out, "stacks", "webserv", "cdk.tf.json"), "utf8");
    expect(writes).toHaveBeenCalledTimes(1);
    expect(text).toBe(serializer("json-stable-stringify")(stack.toTerraform()));
  });
});

describeWith(["terraform"], "cdk.tf.json between the CDK's write and the library's rename", () => {
  it("holds a document Terraform refuses, should the synth stop right there", () => {
    const tmp = tempDir();
    try {
      const app = new App({ outdir: tmp.dir });
      new WebservStack(app, "webserv");
      app.synth();
      // The module itself (the import above is a copy of its bindings): the library's rename is the synth's first.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      jest.spyOn(require("fs") as typeof fs, "renameSync").mockImplementationOnce(() => {
        throw new Error("stopped");
      });
      expect(() => app.synth()).toThrow("stopped");
      jest.restoreAllMocks();
      const dir = path.join(tmp.dir, "stacks", "webserv");
      expect(fs.existsSync(path.join(dir, "cdk.tf.json.partial"))).toBe(false);
      const validate = run("terraform", ["validate", "-no-color"], { cwd: dir, env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null" } });
      expect(validate.status).toBe(1);
      expect(validate.stdout + validate.stderr).toContain(`No argument or block type is named "cdktf-xen"`);
    } finally {
      tmp.remove();
    }
  });

  it("a synth killed while writing leaves cdk.tf.json.partial, which Terraform does not read and the next synth replaces", () => {
    const tmp = tempDir();
    try {
      // terraform_data needs no provider, so Terraform validates without init (the registry is out of reach).
      const synth = () => {
        const app = new App({ outdir: tmp.dir, context: { [ENGINE_CONTEXT_KEY]: "terraform_data" } });
        new WebservStack(app, "webserv");
        app.synth();
      };
      synth();
      const dir = path.join(tmp.dir, "stacks", "webserv");
      const whole = fs.readFileSync(path.join(dir, "cdk.tf.json"), "utf8");
      // What a kill mid-write leaves: the document's first part under the partial name, cdk.tf.json as it was.
      const cut = whole.slice(0, Math.floor(whole.length / 2));
      fs.writeFileSync(path.join(dir, "cdk.tf.json.partial"), cut);
      const validate = (cwd: string) => run("terraform", ["validate", "-no-color"], { cwd, env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null" } });
      const beside = validate(dir);
      expect(beside.stdout + beside.stderr).toContain("Success! The configuration is valid.");
      expect(beside.status).toBe(0);
      // The control: the same text under a name Terraform reads is refused.
      const control = path.join(tmp.dir, "control");
      fs.mkdirSync(control);
      fs.writeFileSync(path.join(control, "cdk.tf.json"), cut);
      expect(validate(control).status).toBe(1);
      synth();
      expect(fs.readdirSync(dir).filter((f) => f.startsWith("cdk.tf"))).toEqual(["cdk.tf.json"]);
      expect(fs.readFileSync(path.join(dir, "cdk.tf.json"), "utf8")).toBe(whole);
    } finally {
      tmp.remove();
    }
  });
});
