/**
 * Proofs remembered across synths. A dom0's proof that passed is not worked
 * out again while three things are the same: the bytes the model reads (the
 * dom0's and its guests' files, its id and uplink), the questions the proof
 * asks, and the library's code. Each is hashed into one key; a stack's keys
 * are kept in its directory, `proof-cache.json`, written once the stack is
 * synthesized, and hold only the dom0s proven in that synth. A proof that
 * fails is never remembered: its errors are worked out every time.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { IConstruct } from "constructs";
import { TerraformStack } from "./cdk";
import { computedThisSynth, oncePerSynth, registerStackOnce, stackDirectory, synthesizing } from "./stack-support";
import type { ModelInput } from "../reachability";
import type { FileSet } from "../reachability/hosts";
import type { FlowQuestion } from "../reachability/flow";

/** The file in a stack's directory that holds the keys of the proofs that passed. */
export const PROOF_CACHE_FILE = "proof-cache.json";

/** What the file says of itself, and the format of its keys. */
const FORMAT = "cdktf-xen proofs that passed: sha256 of the library's code, the files the model read and the questions it answered; delete this file to prove every dom0 again";

/** How many characters proofKey gathers before it hashes them. */
const PIECE = 65536;

/** What a key is made of, besides the files: a question and what must come of it. */
export interface KeyedQuestion {
  readonly expect: "open" | "closed";
  readonly question: FlowQuestion;
}

/**
 * The fields of a model's input that a key covers. A field beyond these
 * (say, what a host runs now) would change the verdict without changing the
 * key: proofKey refuses it.
 */
const INPUT_FIELDS = new Set(["dom0", "guests"]);
const DOM0_FIELDS = new Set(["id", "uplink", "files"]);
const UPLINK_FIELDS = new Set(["device", "address"]);

/**
 * The key of one dom0's proof: sha256 of the library's code (`version`), the
 * dom0's id, uplink and files, each guest's files, and every question with
 * what must come of it. Each string is hashed as UTF-8 after its length, so
 * that two inputs give the same bytes only when their strings are the same,
 * but for a lone surrogate (half of a UTF-16 pair, which UTF-8 cannot hold),
 * hashed as U+FFFD.
 */
export function proofKey(version: string, input: ModelInput, questions: readonly KeyedQuestion[]): string {
  const beyond = (o: object, allowed: Set<string>) => Object.keys(o).filter((k) => !allowed.has(k) && (o as Record<string, unknown>)[k] !== undefined);
  const extra = [...beyond(input, INPUT_FIELDS), ...beyond(input.dom0, DOM0_FIELDS), ...beyond(input.dom0.uplink, UPLINK_FIELDS)];
  if (extra.length) throw new Error(`proofKey: the model's input has ${extra.join(", ")}, which the key does not cover`);
  const h = createHash("sha256");
  // The strings are gathered and hashed a piece of about 64 KiB at a time: a call of the hash per file costs more than its bytes.
  let pending = "";
  const text = (s: string) => {
    pending += `${s.length}:${s}`;
  };
  const file = (s: string) => {
    text(s);
    if (pending.length >= PIECE) {
      h.update(pending);
      pending = "";
    }
  };
  const files = (set: FileSet) => {
    const paths = Object.keys(set);
    text(String(paths.length));
    for (const p of paths) {
      text(p);
      file(set[p]);
    }
  };
  text(version);
  text(input.dom0.id);
  text(input.dom0.uplink.device);
  text(input.dom0.uplink.address);
  files(input.dom0.files);
  const guests = Object.keys(input.guests);
  text(String(guests.length));
  for (const g of guests) {
    text(g);
    files(input.guests[g]);
  }
  text(String(questions.length));
  for (const { expect, question: q } of questions) pending += `${expect} ${q.protocol ?? "tcp"} ${q.from} ${q.to} ${q.port} ${q.sourcePort ?? ""} ${q.apache === true}\n`;
  h.update(pending);
  return h.digest("hex");
}

/** The library's code as one hash, worked out once per process; undefined when its files cannot be found. */
let version: string | undefined | null = null;

/** The hash of the library's code this module runs from (codeVersionAt), worked out once per process. */
export function codeVersion(): string | undefined {
  if (version === null) version = codeVersionAt(__filename);
  return version;
}

/**
 * The hash of the library's code (libraryCodeHash) for this module at
 * `moduleFile`: undefined when that is not a file of the library's own (a
 * bundle of many modules in one file), and then nothing is remembered.
 */
export function codeVersionAt(moduleFile: string): string | undefined {
  const ext = path.extname(moduleFile);
  if (path.basename(moduleFile, ext) !== "proof-cache" || path.basename(path.dirname(moduleFile)) !== "private") return undefined;
  return libraryCodeHash(path.join(path.dirname(moduleFile), ".."));
}

/**
 * A hash of the library's code in its directory `lib`: every file under it
 * (compiled JavaScript, or TypeScript under a test runner, and the shell and
 * C files beside them; declarations and source maps left out), by path, and
 * the version of the YAML parser the model reads netplan with. The whole
 * library rather than the model alone: the model compares with what the
 * renderers write (the vif hook), and a new version proves every dom0 once
 * again. Undefined when `lib` cannot be read.
 */
export function libraryCodeHash(lib: string): string | undefined {
  try {
    const files: string[] = [];
    const walk = (rel: string) => {
      for (const e of fs.readdirSync(path.join(lib, rel), { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        // A link is followed: what it points to is code the library runs.
        const kind = e.isSymbolicLink() ? fs.statSync(path.join(lib, r)) : e;
        if (kind.isDirectory()) walk(r);
        else if (kind.isFile() && !e.name.endsWith(".d.ts") && !e.name.endsWith(".map")) files.push(r);
      }
    };
    walk("");
    if (!files.length) return undefined;
    const h = createHash("sha256");
    for (const f of files.sort()) {
      const bytes = fs.readFileSync(path.join(lib, f));
      h.update(`${f}\0${bytes.length}\0`);
      h.update(bytes);
    }
    h.update(`yaml ${(require("yaml/package.json") as { version: string }).version}`);
    return h.digest("hex");
  } catch {
    return undefined;
  }
}

/** The proofs of one stack in one synth: those remembered from the last, and those passed now. */
export class ProofCache {
  /** Reads the keys kept in `dir` (none when the file is missing or unreadable). */
  static read(dir: string, version: string): ProofCache {
    const known = new Set<string>();
    try {
      const kept = JSON.parse(fs.readFileSync(path.join(dir, PROOF_CACHE_FILE), "utf8")) as { format?: unknown; proven?: unknown };
      if (kept.format === FORMAT && Array.isArray(kept.proven)) for (const k of kept.proven) if (typeof k === "string") known.add(k);
    } catch {
      // Nothing remembered: every dom0 is proven.
    }
    return new ProofCache(version, known);
  }

  private readonly passed = new Set<string>();

  private constructor(
    /** The library's code, as codeVersion hashes it. */
    readonly version: string,
    private readonly known: ReadonlySet<string>,
  ) {}

  /** Whether a proof with this key passed in the last synth; if so, it counts as passed in this one. */
  has(key: string): boolean {
    if (!this.known.has(key)) return false;
    this.passed.add(key);
    return true;
  }

  /** Notes a proof that passed in this synth. */
  add(key: string): void {
    this.passed.add(key);
  }

  /** Writes the keys passed in this synth into `dir` (a new file renamed over the old one). */
  write(dir: string): void {
    const file = path.join(dir, PROOF_CACHE_FILE);
    const partial = `${file}.partial`;
    fs.writeFileSync(partial, JSON.stringify({ format: FORMAT, proven: [...this.passed].sort() }, null, 1) + "\n");
    fs.renameSync(partial, file);
  }
}

/** Where a stack keeps its ProofCache for the synth running now (oncePerSynth). */
const PROOF_CACHE = Symbol.for("cdktf-xen.proof-cache");
/** Registers, once per stack, the writer of its proof-cache.json. */
const PROOF_CACHE_WRITER = Symbol.for("cdktf-xen.proof-cache-writer");

/**
 * The proofs remembered for the stack of `scope` in the synth running now,
 * read from its directory when first asked; undefined outside a synth, and
 * when the library's code cannot be hashed (codeVersion).
 */
export function proofCacheOf(scope: IConstruct): ProofCache | undefined {
  if (!synthesizing()) return undefined;
  const stack = TerraformStack.of(scope);
  return oncePerSynth(stack, PROOF_CACHE, () => {
    const v = codeVersion();
    return v === undefined ? undefined : ProofCache.read(stackDirectory(stack), v);
  });
}

/** Has the stack of `scope` write the proofs that passed into its directory once it is synthesized, when a proof ran in that synth. */
export function registerProofCache(scope: IConstruct): void {
  const stack = TerraformStack.of(scope);
  registerStackOnce(stack, PROOF_CACHE_WRITER, { writer: (dir) => computedThisSynth<ProofCache | undefined>(stack, PROOF_CACHE)?.write(dir) });
}
