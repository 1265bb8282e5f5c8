/**
 * xl's configuration files as libxlutil, the parser xl uses, reads them: a
 * domain config (xl.cfg(5)) and /etc/xen/xl.conf (xl.conf(5)).
 *
 * `key = value` or `key += value`, ended by a newline or `;`. A key is
 * lower-case letters, digits, `_` and `.`, starting with a letter. A value is
 * a string in `"..."` or `'...'` (both take backslash escapes), a number
 * (`[0-9][0-9a-fx]*`, kept as its text), or a list of them in `[...]` that may
 * span lines and end with a comma. `#` starts a comment that a newline must
 * end. Only space and tab are blanks: a carriage return is an error. A key
 * set again takes the last value; `+=` appends a list to a list or joins two
 * strings, and a number parameter given by `+=` is not a number to xl.
 * libxlutil rejects the whole file on any error, and then xl starts nothing
 * from it.
 */

/** A string or number of an xl config, with the line it is on. */
export interface XlAtom {
  readonly text: string;
  readonly line: number;
}

/** One setting, as the last assignment to its key left it. */
interface XlSetting {
  /** The line of its (last) key. */
  readonly line: number;
  /** A single value. */
  readonly atom?: XlAtom;
  /** A list: an item that is itself a list is undefined (xl reads no string from it). */
  readonly list?: readonly (XlAtom | undefined)[];
  /** Set by `+=` last: libxlutil then reads no number from it. */
  readonly added: boolean;
}

/** Escapes the model reads in a quoted string; libxlutil reads more (octal, hex) by rules the model does not follow. */
const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", "\\": "\\", "'": "'", '"': '"' };

/** The tokens, each matched where it starts (sticky, tested without a match array). */
const BLANKS = /[ \t]+/y;
const KEY = /[a-z][._0-9a-z]*/y;
const NUMBER = /[0-9][0-9a-fx]*/y;
const DOUBLE_QUOTED = /"(?:[^"\\\n]|\\[^\n])*"/y;
const SINGLE_QUOTED = /'(?:[^'\\\n]|\\[^\n])*'/y;

/** Why the file cannot be read as xl reads it, and where. */
export interface XlRejection {
  readonly line: number;
  readonly why: string;
}

/** The settings of one xl config file. */
export class XlConfig {
  private readonly settings = new Map<string, XlSetting>();
  /**
   * Set when libxlutil rejects the file (xl then starts nothing from it), or
   * when it holds what the model does not read (an escape other than
   * `\n \r \t \\ \' \"`): the settings are then empty.
   */
  readonly rejected?: XlRejection;

  constructor(text: string) {
    try {
      new Parser(text, this.settings).file();
    } catch (e) {
      if (!(e instanceof Rejected)) throw e;
      this.settings.clear();
      this.rejected = { line: e.line, why: e.message };
    }
  }

  /** A single value's text; undefined when unset or a list (xl warns and takes none). */
  string(key: string): string | undefined {
    return this.settings.get(key)?.atom?.text;
  }

  /**
   * A number as xl reads one (C's strtol in base 0: `0x1f` hex, `010` octal,
   * from a number or a string); undefined when unset, a list, set by `+=`,
   * or not a whole number.
   */
  long(key: string): number | undefined {
    const s = this.settings.get(key);
    if (!s?.atom || s.added) return undefined;
    const t = s.atom.text;
    const m = /^\s*([+-]?)(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))$/.exec(t);
    if (!m) return undefined;
    const n = m[2] !== undefined ? parseInt(m[2], 16) : m[3] !== undefined ? parseInt(m[3], 8) : parseInt(m[4], 10);
    return m[1] === "-" ? -n : n;
  }

  /** A list's items; undefined when unset or a single value (xl warns and takes none). */
  list(key: string): readonly (XlAtom | undefined)[] | undefined {
    return this.settings.get(key)?.list;
  }

  /** The line of the key's last assignment. */
  lineOf(key: string): number | undefined {
    return this.settings.get(key)?.line;
  }

  /** Whether the key is set at all. */
  has(key: string): boolean {
    return this.settings.has(key);
  }
}

class Rejected extends Error {
  constructor(
    readonly line: number,
    why: string,
  ) {
    super(why);
  }
}

/** What kind of token the parser holds. */
const enum T {
  End,
  Newline,
  Key,
  Number,
  String,
  /** `=`, `+=`, `[`, `]`, `,` or `;`: its text is the token's. */
  Punct,
}

/** A value of an assignment: a single one or a list. */
type Value = { readonly atom: XlAtom; readonly list: undefined } | { readonly atom: undefined; readonly list: (XlAtom | undefined)[] };

/**
 * libxlutil's grammar, by recursive descent over one token at a time (its
 * kind, text and line held in fields: nothing made per token but the text of
 * a key or value).
 */
class Parser {
  private at = 0;
  private line = 1;
  private kind = T.End;
  private text = "";
  private tokenLine = 1;

  constructor(
    private readonly source: string,
    private readonly settings: Map<string, XlSetting>,
  ) {}

  file(): void {
    for (;;) {
      const first = this.next();
      if (first === T.End) return;
      if (first === T.Newline || this.is(";")) continue;
      if (first !== T.Key) throw this.unexpected("a key");
      const key = this.text;
      const keyLine = this.tokenLine;
      this.next();
      if (!this.is("=") && !this.is("+=")) throw this.unexpected("= or +=");
      const add = this.text === "+=";
      this.next();
      const value = this.value();
      const after = this.next();
      if (after !== T.End && after !== T.Newline && !this.is(";")) throw this.unexpected("the end of the line");
      this.assign(key, keyLine, add, value);
    }
  }

  private is(punct: string): boolean {
    return this.kind === T.Punct && this.text === punct;
  }

  private assign(key: string, line: number, add: boolean, value: Value): void {
    const old = this.settings.get(key);
    if (!add || !old) this.settings.set(key, { line, atom: value.atom, list: value.list, added: add });
    else if (old.list && value.list) this.settings.set(key, { line, atom: undefined, list: [...old.list, ...value.list], added: true });
    else if (old.atom && value.atom) this.settings.set(key, { line, atom: { text: old.atom.text + value.atom.text, line: old.atom.line }, list: undefined, added: true });
    else throw new Rejected(line, `${key} += adds a list to a single value or a single value to a list`);
  }

  /** The value the current token starts: a string, a number, or a list. */
  private value(): Value {
    if (this.kind === T.String || this.kind === T.Number) return { atom: { text: this.text, line: this.tokenLine }, list: undefined };
    if (this.is("[")) return { atom: undefined, list: this.items() };
    throw this.unexpected("a string, a number or [");
  }

  /** A list's items, after its `[`, through its `]`: newlines anywhere between, a comma after the last allowed. */
  private items(): (XlAtom | undefined)[] {
    const out: (XlAtom | undefined)[] = [];
    for (;;) {
      this.nextPastNewlines();
      if (this.is("]")) return out;
      out.push(this.value().atom);
      this.nextPastNewlines();
      if (this.is("]")) return out;
      if (!this.is(",")) throw this.unexpected(", or ]");
    }
  }

  private nextPastNewlines(): void {
    while (this.next() === T.Newline);
  }

  private unexpected(wanted: string): Rejected {
    const what = this.kind === T.End ? "the end of the file" : this.kind === T.Newline ? "a newline" : this.text;
    return new Rejected(this.tokenLine, `syntax error: ${what} where xl wants ${wanted}`);
  }

  /** Reads the next token into kind, text and tokenLine; returns its kind. */
  private next(): T {
    const src = this.source;
    for (;;) {
      const at = this.at;
      this.tokenLine = this.line;
      if (at >= src.length) {
        return (this.kind = T.End);
      }
      const c = src.charCodeAt(at);
      if (c === 32 || c === 9) {
        this.at = this.matchEnd(BLANKS, at);
        continue;
      }
      if (c === 35 /* # */) {
        // A comment runs to its newline, which must be there.
        const nl = src.indexOf("\n", at);
        if (nl < 0) throw new Rejected(this.line, "lexical error: a comment with no newline after it");
        this.at = nl;
        continue;
      }
      if (c === 10) {
        this.at = at + 1;
        this.line++;
        return (this.kind = T.Newline);
      }
      if (c >= 97 && c <= 122) this.token(T.Key, at, this.matchEnd(KEY, at), false);
      else if (c >= 48 && c <= 57) this.token(T.Number, at, this.matchEnd(NUMBER, at), false);
      else if (c === 34 || c === 39) {
        const end = this.matchEnd(c === 34 ? DOUBLE_QUOTED : SINGLE_QUOTED, at);
        if (end < 0) throw new Rejected(this.line, "lexical error: a string with no end on its line");
        this.token(T.String, at + 1, end - 1, true);
        this.at = end;
      } else if (c === 43 /* + */ && src.charCodeAt(at + 1) === 61) this.token(T.Punct, at, at + 2, false);
      else if (c === 61 || c === 91 || c === 93 || c === 44 || c === 59) this.token(T.Punct, at, at + 1, false);
      else {
        const why = c === 13 ? "a carriage return (the file has DOS line ends)" : `${JSON.stringify(src[at])} is not part of xl's syntax`;
        throw new Rejected(this.line, `lexical error: ${why}`);
      }
      return this.kind;
    }
  }

  /** Where `re` (sticky) matched at `at` ends, or -1. */
  private matchEnd(re: RegExp, at: number): number {
    re.lastIndex = at;
    return re.test(this.source) ? re.lastIndex : -1;
  }

  private token(kind: T, from: number, to: number, quoted: boolean): void {
    this.kind = kind;
    this.text = quoted ? unescape(this.source.slice(from, to), this.line) : this.source.slice(from, to);
    this.at = quoted ? to + 1 : to;
  }
}

/** A quoted string's text with its escapes read. */
function unescape(raw: string, line: number): string {
  if (!raw.includes("\\")) return raw;
  return raw.replace(/\\(.)/g, (all, c: string) => {
    const e = ESCAPES[c];
    if (e === undefined) throw new Rejected(line, `the escape ${all} in a string is not read by the model`);
    return e;
  });
}
