import type { HostFile } from "../model";
import { PENDING_SUFFIX, SCRIPT_PATH, STATE_DIR } from "../private/paths";
import { shellAssignments, shellSource } from "../render/shell-source";

/** A file a step installs: text, or any bytes. */
export interface StepFile extends Omit<HostFile, "content"> {
  readonly content: string | Uint8Array;
}

/**
 * One deploy step: the files of one (host, concern), how to check them before
 * they replace anything, and how to make them take effect.
 *
 * Shell snippets run in their own `sh -eu` (so `set -e` really holds inside
 * them) with the staged copies of the files in `$NEW1`, `$NEW2`, ... in the
 * order of `files`. Snippets are written by this library only: they never
 * contain user text that was not first checked against a strict pattern, and
 * never `${` or `%{` (Terraform would read them as template sequences).
 */
export interface StepModel<F extends StepFile = HostFile> {
  /** Host name for messages, e.g. `dom0` (a construct id checked against [A-Za-z0-9_-]). */
  readonly host: string;
  /** Concern, e.g. `firewall`. */
  readonly concern: string;
  readonly files: readonly F[];
  /** Checks the staged files with the program that reads them; exits non-zero to refuse. */
  readonly validate: string;
  /** Makes the installed files take effect; a failure restores the previous files and runs this again. */
  readonly activate: string;
  /**
   * Who deploys to this host, `<stack>/<host id>`: the first step on a host
   * writes it to /var/lib/cdktf-xen/owner; a step of another owner fails
   * before it changes anything, naming both.
   * @default - the host's owner is not checked
   */
  readonly owner?: string;
}


/**
 * The variable that holds the staged copy of `path` in a step's snippets
 * (`NEW1`, `NEW2`, ... in the order of `files`).
 */
export function stagedVariable(files: readonly StepFile[], path: string): string {
  const i = files.findIndex((f) => f.path === path);
  if (i < 0) throw new Error(`step has no file ${path}`);
  return `NEW${i + 1}`;
}

/** The fixed part of every step script: its checks, lock, owner, and the functions the rest calls. */
const STEP_FUNCTIONS = shellSource(__dirname, "sh/step-functions.sh");

/** Terraform's uploads of step scripts, as a `find -name` pattern. */
const UPLOADS = SCRIPT_PATH.slice(SCRIPT_PATH.lastIndexOf("/") + 1).replace("%RAND%", "*");

const SAFE_WORD = /^[A-Za-z0-9_.-]+$/;
const SAFE_PATH = /^\/[A-Za-z0-9._+@%=/-]+$/;

/** Where a step puts a file: its path, or beside it while it is pending. */
function target(f: StepFile): string {
  return f.pending ? `${f.path}${PENDING_SUFFIX}` : f.path;
}

function base64(content: string | Uint8Array): string {
  return (typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content)).toString("base64");
}

/**
 * `sh -eu` fed by a quoted here-document; `after` continues the first line
 * (`|| fail ...`). The lock's descriptor is closed for it, so that daemons it
 * starts (Apache, the firewall watchdog) never hold the host's lock.
 */
function subshell(tag: string, body: string, after = ""): string[] {
  if (body.split("\n").includes(tag)) throw new Error(`step snippet contains its own terminator ${tag}`);
  return [`sh -eu 9>&- <<'${tag}'${after}`, body.trimEnd() || ":", tag];
}

/**
 * The remote-exec script of a step: stage every file next to its target,
 * validate, keep a backup of every file, then rename each into place (all or
 * none: a journal lets a run after a killed one finish with the right
 * backups), activate; on
 * a failed activation put every previous file back, activate again, and exit
 * non-zero naming host, step and reason. Running it twice leaves the same state.
 */
export function renderStepScript(step: StepModel<StepFile>): string {
  // In parts, each a function of its own: V8 compiles a function whole again whenever something it inlined meets a
  // list of a new shape, and small parts cost it little to compile again.
  checkStep(step);
  const files = step.files;
  const out: string[] = [
    "#!/bin/sh",
    `# cdktf-xen deploy step ${step.host}/${step.concern}: generated, runs as root on the host.`,
    "set -eu",
    shellAssignments([
      ["step", `${step.host}/${step.concern}`],
      ["state", STATE_DIR],
      ["uploads", UPLOADS],
      ["owner", step.owner ?? ""],
    ]).trimEnd(),
    STEP_FUNCTIONS,
  ];
  if (files.length) stageLines(files, out);
  out.push("# Validate the staged files; nothing live has changed yet.");
  pushAll(out, subshell("CDKTF_XEN_VALIDATE", step.validate, ' || fail "validation failed; the previous files are untouched"'));
  out.push(
    `journal=${STATE_DIR}/installing.${step.host}.${step.concern}`,
    "# Install all files or none: every backup is made before the first rename. A run killed between",
    "# them leaves its journal; the next run keeps the backups it lists (the files before it) and finishes.",
    'if [ -e "$journal" ]; then interrupted=1; else interrupted=0; fi',
  );
  if (files.length) installLines(files, out);
  out.push("activate() {");
  pushAll(out, subshell("CDKTF_XEN_ACTIVATE", step.activate));
  out.push("}");
  if (files.length) {
    out.push("if ! activate; then");
    for (let i = 0; i < files.length; i++) out.push(`  put_back "$HAD${i + 1}" ${target(files[i])}`);
    out.push(
      '  rm -f "$journal"',
      '  activate >&2 || echo "cdktf-xen: $step: re-activating the previous files failed too" >&2',
      '  fail "activation failed; the previous files are back"',
      "fi",
      'rm -f "$journal"',
      `echo "cdktf-xen: $step: ${files.length} file${files.length === 1 ? "" : "s"} in place and active"`,
      "",
    );
  } else {
    // A step without files (a check) has nothing to put back: its failure is the answer.
    out.push('activate || fail "failed (it changes no file)"', 'echo "cdktf-xen: $step: done"', "");
  }
  const script = out.join("\n");
  // Terraform reads ${ and %{ in any string as template sequences; base64 and checked paths never contain them.
  const template = /[$%]\{/.exec(script);
  if (template) throw new Error(`step ${step.host}/${step.concern}: its script contains "${template[0]}", which Terraform would read as a template sequence`);
  return script;
}

/** Refuses a step whose names, paths or modes could not be written into a script as they are. */
function checkStep(step: StepModel<StepFile>): void {
  const words = step.owner === undefined ? [step.host, step.concern] : [step.host, step.concern, ...step.owner.split("/")];
  for (const word of words) {
    if (!SAFE_WORD.test(word)) throw new Error(`step name ${JSON.stringify(word)} cannot be written into a script`);
  }
  for (const f of step.files) {
    if (!SAFE_PATH.test(f.path) || f.path.split("/").includes("..")) throw new Error(`step path ${JSON.stringify(f.path)} cannot be written into a script`);
    if (!/^0[0-7]{3}$/.test(f.mode)) throw new Error(`step mode ${JSON.stringify(f.mode)} is not an octal mode`);
  }
}

/** Removing what a killed run staged, then staging every file: `$NEW1`, `$NEW2`, ... */
function stageLines(files: readonly StepFile[], out: string[]): void {
  const leftovers = new Set<string>();
  for (const f of files) leftovers.add(`${f.path.slice(0, f.path.lastIndexOf("/"))}/.cdktf-xen.??????`);
  out.push("# What a killed run left next to the files: its staged temporaries (no other step runs here now).", `rm -f ${[...leftovers].join(" ")}`);
  const names: string[] = [];
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    out.push(`stage ${target(f)} ${f.mode} '${base64(f.content)}'`, `NEW${i + 1}=$t`);
    names.push(`NEW${i + 1}`);
  }
  out.push(`export ${names.join(" ")}`);
}

/** A backup of every file, the journal listing them, then every file renamed into place. */
function installLines(files: readonly StepFile[], out: string[]): void {
  const journal: string[] = [];
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    const p = target(f);
    // A pending file has no previous version to keep: a failed activation removes it.
    out.push(f.pending ? `HAD${i + 1}=0` : `HAD${i + 1}=$(prior ${p}) || fail "cannot keep a copy of ${p}; nothing changed"`);
    journal.push(`echo 'path ${p}'; if [ "$HAD${i + 1}" = 1 ]; then echo 'had ${p}'; fi`);
  }
  out.push(`if { ${journal.join("; ")}; } > "$journal.new" && mv -f "$journal.new" "$journal"; then :; else fail "cannot write $journal; nothing changed"; fi`);
  for (let i = 0; i < files.length; i++) out.push(`mv -f "$NEW${i + 1}" ${target(files[i])}`);
}

/** Appends every item of `items` to `out`. */
function pushAll(out: string[], items: readonly string[]): void {
  for (const item of items) out.push(item);
}
