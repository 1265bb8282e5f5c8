/**
 * Apache's sockets and virtual hosts, as apache2 reads its configuration
 * when it starts. From `apache2.conf` when the files hold it (a copy of a
 * host): `Include` and `IncludeOptional` read in place (relative to
 * `ServerRoot`, shell wildcards, a directory's files in byte order), and
 * `<IfModule>` decided by the modules compiled in and those `LoadModule`
 * loaded before it. Without it (what a deploy writes), from `ports.conf` and
 * the sites, as Debian's `apache2.conf` includes them. What Apache listens
 * on now, when it was captured (`ss -Hltnp`), takes the place of the Listen
 * lines. What the files leave open (an `<IfDefine>`, a name Apache resolves
 * at start, an `Include` of what the files do not hold) is carried with its
 * reason: it never counts as a socket that is there.
 */
import { globbed, pathsMatching } from "./files-by-path";
import type { FileSet } from "./hosts";
import { ipNum } from "./ip";
import { doubtText, Outcome, Unreadable } from "./outcome";

/** A `Listen`: the address and port Apache accepts connections on. */
export interface ApacheListen {
  /** undefined: every IPv4 address (`Listen 80`, `0.0.0.0:80`, `[::]:80`). */
  readonly address?: number;
  readonly port: number;
  /** The file's name and the line, e.g. `ports.conf line 3`. */
  readonly where: string;
  /** Why it may not be there (a section the files do not decide, a name resolved at start); undefined when it is. */
  readonly maybe?: string;
}

/** A `<VirtualHost>` address: the sockets it serves. */
export interface ApacheVhost {
  /** undefined: every address (`*`, `_default_`, `0.0.0.0`). */
  readonly address?: number;
  /** undefined: every port (an address given without one). */
  readonly port?: number;
  readonly where: string;
  /** The file's name without `.conf`. */
  readonly site: string;
  readonly maybe?: string;
}

/** One directive of a `<VirtualHost>` section. */
export interface ApacheDirective {
  /** Its name as written (`ServerName`); Apache's directive names are case-insensitive. */
  readonly name: string;
  /** What follows the name, continuation lines joined, trimmed. */
  readonly args: string;
  /** The file it is in: the section's, or one an `Include` in the section names. */
  readonly file: string;
  /** Its line in that file. */
  readonly line: number;
  /** Why it may not count (a section the files do not decide); undefined when it does. */
  readonly maybe?: string;
  /**
   * For an `Include` in the section that the model does not follow, why (a
   * variable, nothing in the files that it names, nested too deep): what it
   * would add to the section is not among these directives. Undefined for
   * every other directive: an `Include` the model follows is replaced by the
   * directives of the files it names, in place.
   */
  readonly unread?: string;
}

/** What Apache listens on and serves, and what in its files the model cannot read. */
export interface ApacheConfig {
  readonly listens: readonly ApacheListen[];
  /** Where the sockets come from: the configuration's Listen lines, or what Apache listens on now (`ss -Hltnp`). */
  readonly listensFrom: "configuration" | "ss -Hltnp";
  readonly vhosts: readonly ApacheVhost[];
  /** What may add a socket or a virtual host the model does not see: an answer that is not a pass is unknown. */
  readonly unreadable: readonly Unreadable[];
  /** Those of them that may keep Apache from starting at all (an Include of nothing the files hold): every answer is unknown, unless what it listens on now was captured. */
  readonly mayNotStart: readonly Unreadable[];
}

/** One `<VirtualHost>` section as apache2 reads it: where it is, what it names, and its lines. */
export interface ApacheBlock {
  /** The file (its path among the host's files) and the line of `<VirtualHost`. */
  readonly file: string;
  readonly line: number;
  /** What the section's opening names: `192.0.2.10:80`, `*:443`, several such. */
  readonly addresses: string;
  /**
   * Its directives as apache2 reads them, in order: those of the files an
   * `Include` in it names read in place, those in a section that is off (an
   * `<IfModule>` of a module not loaded) left out, those in one the files do
   * not decide with its reason.
   */
  readonly directives: readonly ApacheDirective[];
  /** In a section that is off (an `<IfModule>` of a module not loaded): apache2 does not serve it. */
  readonly off: boolean;
  /** Why it may not be served (a section the files do not decide); undefined when it is. */
  readonly maybe?: string;
}

/**
 * Apache's configuration as {@link readApache} reads it, with every
 * `<VirtualHost>` section of the files apache2 reads, in the order it reads
 * them, the files it reads (`read`) and what its Include lines name
 * (`includes`: absolute paths or wildcards, held by the files or not);
 * undefined when the files hold neither apache2.conf nor ports.conf.
 */
export function readApacheBlocks(files: FileSet, listening?: string): { readonly config: ApacheConfig; readonly blocks: readonly ApacheBlock[]; readonly read: ReadonlySet<string>; readonly includes: ReadonlySet<string> } | undefined {
  const reader = readConfig(files, true);
  return reader && { config: listeningNow(reader.config(), listening), blocks: reader.blocks!, read: reader.filesRead!, includes: reader.includesNamed! };
}

/** What {@link apacheServes} finds for one socket. */
export interface ApacheServes {
  /** pass: a Listen and a virtual host that are there; unknown: one the files leave open, or a line the model cannot read; else drop. */
  readonly outcome: Outcome;
  readonly listen?: ApacheListen;
  readonly vhost?: ApacheVhost;
  /** Why it is unknown. */
  readonly doubt?: string;
}

/** Whether Apache listens on `dst:port` and a `<VirtualHost>` serves it. */
export function apacheServes(a: ApacheConfig, dst: number, port: number): ApacheServes {
  const listen = apacheListen(a, dst, port);
  const vhost = apacheVhost(a, dst, port);
  // Apache that may not start serves nothing for certain, unless it was seen listening.
  if (a.mayNotStart.length && a.listensFrom === "configuration") return { outcome: "unknown", listen, vhost, doubt: doubtText(a.mayNotStart) };
  const lines = a.unreadable.length ? doubtText(a.unreadable) : undefined;
  const of = (found: { readonly maybe?: string } | undefined, doubt: string | undefined): Outcome => (found ? (found.maybe === undefined ? "pass" : "unknown") : doubt === undefined ? "drop" : "unknown");
  // Sockets captured from what runs are all there is; a line of the files the model cannot read leaves open only what the files say.
  const l = of(listen, a.listensFrom === "configuration" ? lines : undefined);
  const v = of(vhost, lines);
  const outcome: Outcome = l === "drop" || v === "drop" ? "drop" : l === "unknown" || v === "unknown" ? "unknown" : "pass";
  return { outcome, listen, vhost, doubt: outcome === "unknown" ? (listen?.maybe ?? vhost?.maybe ?? lines) : undefined };
}

/** The Listen for `dst:port`: one that is there first, else one the files leave open. */
function apacheListen(a: ApacheConfig, dst: number, port: number): ApacheListen | undefined {
  let open: ApacheListen | undefined;
  for (const l of a.listens) {
    if (l.port !== port || (l.address !== undefined && l.address !== dst)) continue;
    if (l.maybe === undefined) return l;
    open ??= l;
  }
  return open;
}

/**
 * The `<VirtualHost>` serving `dst:port`, as Apache picks one: those named
 * with the address first, `*` ones only when none is; one that is there
 * before one the files leave open.
 */
function apacheVhost(a: ApacheConfig, dst: number, port: number): ApacheVhost | undefined {
  let open: ApacheVhost | undefined;
  for (const exact of [true, false]) {
    for (const v of a.vhosts) {
      if ((v.port !== undefined && v.port !== port) || (exact ? v.address !== dst : v.address !== undefined)) continue;
      if (v.maybe === undefined) return v;
      open ??= v;
    }
  }
  return open;
}

/** Debian's ServerRoot, compiled into its apache2 (its apache2.conf leaves `ServerRoot` commented out). */
const SERVER_ROOT = "/etc/apache2";

/** The modules compiled into Debian's apache2 (`apache2 -l`, `apache2ctl -M`): source file and identifier. */
export const STATIC_MODULES: readonly (readonly [string, string])[] = [
  ["core.c", "core_module"],
  ["mod_so.c", "so_module"],
  ["mod_watchdog.c", "watchdog_module"],
  ["http_core.c", "http_module"],
  ["mod_log_config.c", "log_config_module"],
  ["mod_logio.c", "logio_module"],
  ["mod_version.c", "version_module"],
  ["mod_unixd.c", "unixd_module"],
];

/** Where the lines read in place of an apache2.conf the files do not hold come from. */
const DEBIAN_CONF = "Debian's apache2.conf";

/** The modules compiled in, by either name. */
const COMPILED_IN = new Set(STATIC_MODULES.flat());

/** How deep Include may nest before the model stops following it. */
const MAX_INCLUDE_DEPTH = 16;

/**
 * The directives and sections the model reads, at the start of a line
 * (Apache's comments are whole lines).
 */
const DIRECTIVE = /^[ \t]*(<\/?[A-Za-z]+|IncludeOptional|Include|Listen|LoadModule|ServerRoot|Use)(?=[\s>])[ \t]*([^\n]*)/gim;

/** An Include line: the directive (`m[1]`) and what it names (`m[2]`). */
const INCLUDE = String.raw`(Include(?:Optional)?)[ 	]+([^
]*)`;

/** Where a `<VirtualHost>` ends, and the Include lines before: what they name must be there, or Apache does not start. */
const END_VHOST = new RegExp(String.raw`^[ 	]*(?:<\/VirtualHost[\s>]|${INCLUDE})`, "gim");

/** Why an Include (not IncludeOptional) of nothing is not read: apache2 refuses to start with it. */
const NOTHING_NAMED = "the files hold nothing it names (Apache does not start so; or the copy does not hold it)";

/** An Include line of a file a section's Include names. */
const INCLUDE_LINE = new RegExp(String.raw`^[ 	]*${INCLUDE}`, "gim");

/** Whether what follows in a file counts: `skip` (a section that is off), or `maybe` with the reason. */
interface Condition {
  readonly skip: boolean;
  readonly maybe?: string;
}

const ON: Condition = { skip: false };
const OFF: Condition = { skip: true };

/**
 * Apache's configuration from a host's files, its sockets from what it
 * listens on now when that was captured (`ss -Hltnp`); undefined when the
 * files hold neither apache2.conf nor ports.conf.
 */
export function readApache(files: FileSet, listening?: string): ApacheConfig | undefined {
  const config = readConfig(files, false)?.config();
  return config && listeningNow(config, listening);
}

/** The configuration with its sockets from what Apache listens on now, when that was captured: Apache may not run, or not with these files. */
function listeningNow(config: ApacheConfig, listening: string | undefined): ApacheConfig {
  return listening === undefined ? config : { ...config, listens: apacheSockets(listening), listensFrom: "ss -Hltnp" };
}

/**
 * The sockets Apache listens on now, from what `ss -Hltnp` printed: those
 * of an `apache2` or `httpd` process. `*` (a socket for IPv6 and IPv4) and
 * `0.0.0.0` take every IPv4 address, `[::]` none (IPv6 only); a socket
 * printed without its process, or bound to one interface (`%eth0`), may be
 * Apache's, or may not.
 */
export function apacheSockets(listening: string): ApacheListen[] {
  const out: ApacheListen[] = [];
  const lines = listening.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const fields = lines[i].trim().split(/\s+/);
    if (fields[0] !== "LISTEN" || fields.length < 5) continue;
    const m = /^(\*|\[[^\]]*\]|[^%\s]+?)(%\S+)?:(\d+)$/.exec(fields[3]);
    if (!m) continue;
    const where = `ss -Hltnp line ${i + 1}`;
    const users = fields.slice(5).join(" ");
    const apache = /\(\("(apache2|httpd)"/.test(users);
    if (users && !apache) continue;
    const maybe = !users ? `${where} names no process (ss -Hltnp run as root names them)` : m[2] ? `${where}: bound to ${m[2].slice(1)} only` : undefined;
    const port = Number(m[3]);
    const host = m[1];
    const mapped = /^\[::ffff:(\d+\.\d+\.\d+\.\d+)\]$/i.exec(host);
    if (host === "*" || host === "0.0.0.0") out.push({ port, where, maybe });
    else if (mapped || !host.startsWith("[")) {
      const address = ipNum(mapped ? mapped[1] : host);
      if (address !== undefined) out.push({ address, port, where, maybe });
    }
  }
  return out;
}

/** The configuration read, its `<VirtualHost>` sections kept when `blocks` says so. */
function readConfig(files: FileSet, blocks: boolean): Reader | undefined {
  const main = files[`${SERVER_ROOT}/apache2.conf`];
  if (main !== undefined) return new Reader(files, true, blocks).run(`${SERVER_ROOT}/apache2.conf`, main);
  if (files[`${SERVER_ROOT}/ports.conf`] === undefined) return undefined;
  return new Reader(files, false, blocks).debian(sitesFolder(files));
}

/**
 * The sites' folder Debian's apache2.conf includes (`*.conf` of it), as the
 * model reads it without apache2.conf: sites-enabled in a copy that has it,
 * else sites-available, where a deploy writes the sites it enables.
 */
export function sitesFolder(files: FileSet): "sites-enabled" | "sites-available" {
  for (const p in files) if (p.startsWith(`${SERVER_ROOT}/sites-enabled/`)) return "sites-enabled";
  return "sites-available";
}

class Reader {
  private readonly listens: ApacheListen[] = [];
  private readonly vhosts: ApacheVhost[] = [];
  private readonly unreadable: Unreadable[] = [];
  private readonly mayNotStart: Unreadable[] = [];
  private root = SERVER_ROOT;
  /** Modules loaded, by identifier and by source file; those loaded in a section the files do not decide, with its reason. */
  private readonly loaded = new Set<string>();
  private readonly maybeLoaded = new Map<string, string>();
  /** A module loaded from a file not named `mod_<name>.so`: its source file's name is not known. */
  private oddFile?: string;
  /** The `<VirtualHost>` sections and the files read, when asked for (import reads them; the proof does not). */
  readonly blocks?: ApacheBlock[];
  readonly filesRead?: Set<string>;
  /** What its Include lines name, as absolute paths or wildcards, when the blocks are asked for. */
  readonly includesNamed?: Set<string>;

  constructor(
    private readonly files: FileSet,
    /** Whether the files hold apache2.conf, and so every LoadModule. */
    private readonly modulesKnown: boolean,
    blocks: boolean,
  ) {
    if (blocks) {
      this.blocks = [];
      this.filesRead = new Set();
      this.includesNamed = new Set();
    }
  }

  run(file: string, text: string): this {
    this.read(file, text, 0, ON);
    return this;
  }

  /** What Debian's apache2.conf includes, read as its lines would be: ports.conf, then the sites of `sites`. */
  debian(sites: string): this {
    this.include("ports.conf", false, DEBIAN_CONF, 0, "Include ports.conf", 0, ON);
    this.include(`${sites}/*.conf`, true, DEBIAN_CONF, 0, `IncludeOptional ${sites}/*.conf`, 0, ON);
    return this;
  }

  config(): ApacheConfig {
    return { listens: this.listens, listensFrom: "configuration", vhosts: this.vhosts, unreadable: this.unreadable, mayNotStart: this.mayNotStart };
  }

  /** One file's directives, and those of the files it includes, in place; sections close within their file. */
  private read(file: string, text: string, depth: number, outer: Condition): void {
    const name = file.slice(file.lastIndexOf("/") + 1);
    this.filesRead?.add(file);
    const stack: Condition[] = [outer];
    // One expression for every file: an Include read in the middle of this one puts back where it was.
    const re = DIRECTIVE;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const at = m.index;
      const directive = m[1].toLowerCase();
      const now = stack[stack.length - 1];
      if (directive.charCodeAt(1) === 47 /* / */) {
        if (stack.length > 1) stack.pop();
        continue;
      }
      let rest = m[2];
      // A line ending in a backslash goes on in the next.
      while (rest.endsWith("\\") && re.lastIndex < text.length) {
        const next = text.indexOf("\n", re.lastIndex + 1);
        rest = `${rest.slice(0, -1)} ${text.slice(re.lastIndex + 1, next < 0 ? text.length : next)}`;
        re.lastIndex = next < 0 ? text.length : next;
      }
      if (directive.charCodeAt(0) === 60 /* < */) {
        const arg = sectionArgument(rest);
        if (directive === "<virtualhost") {
          if (!now.skip) this.vhost(arg, `${name} line ${lineAt(text, at)}`, name, now);
          // Its body holds no Listen and no <VirtualHost>; sections in it close in it.
          const start = re.lastIndex;
          END_VHOST.lastIndex = start;
          let end = END_VHOST.exec(text);
          for (; end !== null && end[1] !== undefined; end = END_VHOST.exec(text)) {
            const resume = END_VHOST.lastIndex;
            if (!now.skip) this.sectionInclude(end[1], end[2].trim(), file, lineAt(text, end.index), depth);
            END_VHOST.lastIndex = resume;
          }
          re.lastIndex = end === null ? text.length : END_VHOST.lastIndex;
          if (this.blocks) {
            const body = text.slice(start, end === null ? text.length : end.index);
            const directives: ApacheDirective[] = [];
            this.vhostDirectives(file, body, lineAt(text, start), ON, depth, directives);
            this.blocks.push({ file, line: lineAt(text, at), addresses: arg, directives, off: now.skip, maybe: now.maybe });
          }
        } else stack.push(now.skip ? OFF : this.section(directive, arg, now));
        continue;
      }
      if (now.skip) continue;
      const line = lineAt(text, at);
      const words = rest.trim().split(/\s+/);
      if (directive === "listen") this.listen(words[0] ?? "", file, `${name} line ${line}`, line, now);
      else if (directive === "include" || directive === "includeoptional") {
        const resume = re.lastIndex;
        this.include(unquoted(rest.trim()), directive === "includeoptional", file, line, `${m[1]} ${rest.trim()}`, depth, now);
        re.lastIndex = resume;
      } else if (directive === "loadmodule") this.loadModule(words[0] ?? "", unquoted(words[1] ?? ""), now);
      else if (directive === "serverroot") this.root = unquoted(rest.trim()).replace(/\/+$/, "");
      else if (directive === "use") this.unreadable.push({ file, line, text: `${m[1]} ${rest.trim()}`, why: "a macro (mod_macro) is not read by the model: it may add a Listen or a <VirtualHost>" });
    }
  }

  /**
   * An Include in a `<VirtualHost>` section, and those of the files it
   * names: it adds no Listen and no `<VirtualHost>`, but what it names must
   * be there, or Apache does not start.
   */
  private sectionInclude(directive: string, arg: string, file: string, line: number, depth: number): void {
    const named = this.included(unquoted(arg), directive.toLowerCase() === "includeoptional", depth);
    if (typeof named === "string") {
      this.doubt({ file, line, text: `${directive} ${arg}`, why: named });
      return;
    }
    for (const p of named) {
      const text = this.files[p];
      for (const m of text.matchAll(INCLUDE_LINE)) this.sectionInclude(m[1], m[2].trim(), p, lineAt(text, m.index!), depth + 1);
    }
  }

  /**
   * Adds to `out` the directives of a `<VirtualHost>` section's body in
   * `file` (which starts on line `line`, after the section's opening), or of
   * a file an `Include` in it names (from line 1), under `outer`: its own
   * sections decided as the file's are, the files its `Include` lines name
   * read in place. Whether the section itself counts is the block's to say.
   */
  private vhostDirectives(file: string, body: string, line: number, outer: Condition, depth: number, out: ApacheDirective[]): void {
    const stack: Condition[] = [outer];
    const lines = body.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const at = line + i;
      let text = lines[i].trim();
      // A line ending in a backslash goes on in the next.
      while (text.endsWith("\\") && i + 1 < lines.length) text = `${text.slice(0, -1)} ${lines[++i].trim()}`;
      if (!text || text.startsWith("#")) continue;
      const now = stack[stack.length - 1];
      const m = /^(<\/?)?([A-Za-z][\w-]*)\s*(.*)$/.exec(text);
      if (!m) continue;
      if (m[1] === "</") {
        if (stack.length > 1) stack.pop();
      } else if (m[1] === "<") stack.push(now.skip ? OFF : this.section(`<${m[2].toLowerCase()}`, sectionArgument(m[3]), now));
      else if (!now.skip) {
        const name = m[2];
        const args = m[3].trim();
        const lower = name.toLowerCase();
        // An Include the model follows gives way to what it names; any other directive is kept, one it does not follow with why.
        const named = lower === "include" || lower === "includeoptional" ? this.included(unquoted(args), lower === "includeoptional", depth) : undefined;
        if (!Array.isArray(named)) {
          out.push({ name, args, file, line: at, maybe: now.maybe, unread: named });
          continue;
        }
        for (const p of named) {
          this.filesRead?.add(p);
          this.vhostDirectives(p, this.files[p], 1, now, depth + 1, out);
        }
      }
    }
  }

  /** What a section that opens does to what follows: `<IfModule>` is decided by the modules loaded so far; other conditions are not known from the files. */
  private section(directive: string, arg: string, now: Condition): Condition {
    if (directive === "<macro") return OFF;
    const maybe = (why: string): Condition => ({ skip: false, maybe: now.maybe ?? why });
    if (directive === "<ifmodule") {
      const negated = arg.startsWith("!");
      const module = negated ? arg.slice(1) : arg;
      const state = this.moduleState(module);
      if (state === true) return negated ? OFF : now;
      if (state === false) return negated ? now : OFF;
      return maybe(`<IfModule ${arg}>: ${state}`);
    }
    if (directive === "<ifdefine") return maybe(`<IfDefine ${arg}>: what apache2 is started with (-D) is not in the files`);
    if (directive === "<ifversion" || directive === "<iffile" || directive === "<ifdirective" || directive === "<ifsection") return maybe(`${directive.slice(1).replace(/^if/, "If")} ${arg}: not read by the model`);
    // <Directory>, <Location>, <Files> and the like hold no Listen and no <VirtualHost>: what follows counts as before.
    return now;
  }

  /** Whether a module is loaded: true, false, or why it is not known. */
  private moduleState(module: string): true | false | string {
    if (!this.modulesKnown) return "the files hold no apache2.conf, so which modules Apache loads is not known";
    if (COMPILED_IN.has(module) || this.loaded.has(module)) return true;
    const maybe = this.maybeLoaded.get(module);
    if (maybe !== undefined) return `it is loaded only if ${maybe}`;
    if (module.endsWith(".c") && this.oddFile !== undefined) return `a module loaded from ${this.oddFile} (a file not named mod_<name>.so) may be ${module}`;
    return false;
  }

  private loadModule(id: string, path: string, now: Condition): void {
    const file = path.slice(path.lastIndexOf("/") + 1);
    const source = /^mod_.+\.so$/.test(file) ? `${file.slice(0, -3)}.c` : undefined;
    if (source === undefined || `mod_${id.replace(/_module$/, "")}.so` !== file) this.oddFile ??= file;
    for (const name of source === undefined ? [id] : [id, source]) {
      if (now.maybe === undefined) this.loaded.add(name);
      else if (!this.loaded.has(name)) this.maybeLoaded.set(name, now.maybe);
    }
  }

  private listen(arg: string, file: string, where: string, line: number, now: Condition): void {
    const m = /^(?:(\[[^\]]*\]|[^:\s]+):)?(\d+)$/.exec(arg);
    if (!m || !(Number(m[2]) >= 1 && Number(m[2]) <= 65535)) {
      this.unreadable.push({ file, line, text: `Listen ${arg}`, why: "a Listen address the model does not read" });
      return;
    }
    const port = Number(m[2]);
    const host = m[1];
    // [::] takes IPv4 connections too (Linux's bindv6only 0); any other IPv6 address none.
    if (host === undefined || host === "[::]" || host === "0.0.0.0") this.listens.push({ port, where, maybe: now.maybe });
    else if (host.startsWith("[")) return;
    else {
      const address = ipNum(host);
      if (address !== undefined) this.listens.push({ address, port, where, maybe: now.maybe });
      else this.listens.push({ port, where, maybe: now.maybe ?? `Listen ${arg}: Apache looks ${host} up when it starts` });
    }
  }

  private vhost(arg: string, where: string, fileName: string, now: Condition): void {
    const site = fileName.endsWith(".conf") ? fileName.slice(0, -5) : fileName;
    for (const part of arg.split(/\s+/)) {
      const m = /^(\*|_default_|\[[^\]]*\]|[^:\s]+)(?::(\d+|\*))?$/.exec(part);
      if (!m) continue;
      const port = m[2] === undefined || m[2] === "*" ? undefined : Number(m[2]);
      const host = m[1];
      if (host === "*" || host === "_default_" || host === "0.0.0.0") this.vhosts.push({ port, where, site, maybe: now.maybe });
      else if (host.startsWith("[")) continue;
      else {
        const address = ipNum(host);
        if (address !== undefined) this.vhosts.push({ address, port, where, site, maybe: now.maybe });
        else this.vhosts.push({ port, where, site, maybe: now.maybe ?? `<VirtualHost ${part}>: Apache looks ${host} up when it starts` });
      }
    }
  }

  /** A line the model cannot read; one that names nothing the files hold may keep Apache from starting. */
  private doubt(u: Unreadable): void {
    this.unreadable.push(u);
    if (u.why === NOTHING_NAMED) this.mayNotStart.push(u);
  }

  /** Reads what an Include names, in place. */
  private include(arg: string, optional: boolean, file: string, line: number, text: string, depth: number, now: Condition): void {
    const named = this.included(arg, optional, depth);
    if (typeof named === "string") this.doubt({ file, line, text, why: named });
    else for (const p of named) this.read(p, this.files[p], depth + 1, now);
  }

  /**
   * The files an Include of `arg` (in a file read at `depth`) names: a file,
   * the files a wildcard matches, or a directory's files, in byte order; or
   * why the model does not follow it.
   */
  private included(arg: string, optional: boolean, depth: number): string[] | string {
    if (!arg || arg.includes("{")) return "an Include with a variable is not read by the model";
    if (depth >= MAX_INCLUDE_DEPTH) return "Include nested deeper than the model follows";
    let path = arg.startsWith("/") ? arg : `${this.root}/${arg}`;
    if (path.includes("//")) path = path.replace(/\/+/g, "/");
    if (path.endsWith("/")) path = path.slice(0, -1);
    this.includesNamed?.add(path);
    let named: string[];
    if (path.includes("*") || path.includes("?") || path.includes("[")) named = globbed(this.files, path);
    else if (this.files[path] !== undefined) named = [path];
    else named = pathsMatching(this.files, (p) => p.startsWith(`${path}/`));
    if (!named.length && !optional) return NOTHING_NAMED;
    return named;
  }
}

/** What a section's opening line names, without `>` and quotes. */
function sectionArgument(rest: string): string {
  const end = rest.indexOf(">");
  return unquoted((end < 0 ? rest : rest.slice(0, end)).trim());
}

/** A directive's argument without the quotes around it. */
export function unquoted(text: string): string {
  return text.length > 1 && (text[0] === '"' || text[0] === "'") && text[text.length - 1] === text[0] ? text.slice(1, -1) : text;
}

/** 1-based line of the character at `index`. */
function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < index; i = text.indexOf("\n", i + 1)) line++;
  return line;
}
