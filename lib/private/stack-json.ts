/**
 * A stack's cdk.tf.json, written byte for byte as the CDK's own serializer
 * writes it, but piece by piece into the file instead of as one string.
 *
 * cdktf writes cdk.tf.json with `json-stable-stringify` (cdktn with
 * `safe-stable-stringify`): keys sorted, two spaces of indentation. Both build
 * the text of each object from the texts of its members, so a fleet's
 * document (139 MiB at 50 dom0s) is copied once per level of nesting before
 * one `writeFileSync`. Written here as it is walked, the same bytes take a
 * fraction of the time and no memory beyond the document's objects.
 *
 * Only plain JSON data is written here: strings, numbers, booleans, null,
 * arrays and plain objects, which is what cdktf's resolve makes of a stack.
 * Anything else (a `toJSON`, a class instance, a bigint, a function, a
 * cycle) stops the walk, and the CDK's own serializer writes the document,
 * with whatever it makes of such values.
 */
import * as fs from "fs";
import type { Flavour } from "./cdk";

/** The CDK's serializer of cdk.tf.json, whose output is matched. */
export type JsonStyle = Flavour["json"];

const SPACE = "  ";
/**
 * Text gathered before it is written out. V8 joins the pieces as a rope and
 * copies it flat when it is written: measured at 10 dom0s, 64 KiB pieces
 * written as strings took 100-180 ms where 1 MiB pieces encoded to Buffers
 * took 340-430 ms.
 */
const CHUNK = 64 << 10;

/** Stops the walk: the value is not plain JSON data. */
class NotPlain extends Error {}

/**
 * Gives the text of `value`, as `style` serializes it with two spaces of
 * indentation, to `out` in pieces. Returns false, part-way through, when
 * `value` holds anything but plain JSON data.
 */
export function stableJson(value: unknown, style: JsonStyle, out: (text: string) => void): boolean {
  // safe-stable-stringify writes an empty array or object as [] and {}; json-stable-stringify breaks the line before its closing bracket.
  const compactEmpty = style === "safe-stable-stringify";
  const indents = ["\n"];
  const indent = (level: number): string => indents[level] ?? (indents[level] = "\n" + SPACE.repeat(level));
  const ancestors: object[] = [];
  let text = "";
  const put = (s: string): void => {
    text += s;
    if (text.length >= CHUNK) {
      out(text);
      text = "";
    }
  };

  const scalar = (v: unknown): string => {
    switch (typeof v) {
      case "string":
        return JSON.stringify(v);
      case "number":
        return Number.isFinite(v) ? String(v) : "null";
      case "boolean":
        return v ? "true" : "false";
      default:
        throw new NotPlain();
    }
  };

  const array = (a: readonly unknown[], level: number): void => {
    if (a.length === 0) {
      put(compactEmpty ? "[]" : "[" + indent(level) + "]");
      return;
    }
    const inner = indent(level + 1);
    put("[");
    for (let i = 0; i < a.length; i++) {
      put(i === 0 ? inner : "," + inner);
      // An undefined item is written as null; an undefined member of an object is left out.
      const item = a[i];
      if (item === undefined) put("null");
      else member(item, level + 1);
    }
    put(indent(level) + "]");
  };

  const object = (o: Record<string, unknown>, level: number): void => {
    const keys = Object.keys(o).sort();
    const inner = indent(level + 1);
    let first = true;
    for (const key of keys) {
      const item = o[key];
      if (item === undefined) continue;
      put(first ? "{" + inner : "," + inner);
      first = false;
      put(JSON.stringify(key) + ": ");
      member(item, level + 1);
    }
    if (first) put(compactEmpty ? "{}" : "{" + indent(level) + "}");
    else put(indent(level) + "}");
  };

  const member = (v: unknown, level: number): void => {
    if (v === null) {
      put("null");
      return;
    }
    if (typeof v !== "object") {
      put(scalar(v));
      return;
    }
    if (ancestors.includes(v)) throw new NotPlain();
    const proto = Object.getPrototypeOf(v);
    ancestors.push(v);
    if (Array.isArray(v) && proto === Array.prototype) array(v, level);
    else if ((proto === Object.prototype || proto === null) && !("toJSON" in v)) object(v as Record<string, unknown>, level);
    else throw new NotPlain();
    ancestors.pop();
  };

  try {
    if (value === undefined) throw new NotPlain();
    member(value, 0);
  } catch (e) {
    if (e instanceof NotPlain) return false;
    throw e;
  }
  if (text) out(text);
  return true;
}

/**
 * Writes `value` into `file` as `style` serializes it (see stableJson).
 * Returns false, and leaves no file, when `value` holds anything but plain
 * JSON data; an I/O failure removes the file and is thrown.
 */
export function writeStableJson(file: string, value: unknown, style: JsonStyle): boolean {
  const fd = fs.openSync(file, "w");
  let plain = false;
  try {
    plain = stableJson(value, style, (text) => {
      const written = fs.writeSync(fd, text);
      // Short of the text's bytes (as many as its characters but for UTF-8's longer ones): the rest, as bytes.
      if (written !== text.length) {
        const bytes = Buffer.from(text, "utf8");
        for (let done = written; done < bytes.length; ) done += fs.writeSync(fd, bytes, done);
      }
    });
  } finally {
    fs.closeSync(fd);
    if (!plain) fs.rmSync(file, { force: true });
  }
  return plain;
}
