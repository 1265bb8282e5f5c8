/**
 * Every member of the public API carries a doc comment: what each entry
 * point (`cdktf-xen`, `cdktf-xen/testing`, `cdktf-xen/lab`) exports, and
 * every property, method and accessor of its classes and interfaces, as the
 * shipped types show them (members marked `@internal` and private ones are
 * stripped at build, so they are not asked for).
 */
import * as path from "path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "..");
const ENTRY_POINTS = ["lib/index.ts", "lib/testing/index.ts", "lib/lab/index.ts"];

/** A declaration's doc comment, and whether it is `@internal`. */
function docOf(node: ts.Node): { text: string; internal: boolean } {
  const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const text = docs.map((d) => (typeof d.comment === "string" ? d.comment : (d.comment ?? []).map((c) => c.text).join(""))).join("").trim();
  const internal = docs.some((d) => (d.tags ?? []).some((t) => t.tagName.text === "internal"));
  return { text, internal };
}

/** Every public name without a doc comment, as `entry: Name` or `entry: Name.member`. */
function undocumented(): string[] {
  const program = ts.createProgram(
    ENTRY_POINTS.map((e) => path.join(ROOT, e)),
    { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true, skipLibCheck: true, types: ["node"] },
  );
  const checker = program.getTypeChecker();
  const missing = new Set<string>();
  for (const entry of ENTRY_POINTS) {
    const file = program.getSourceFile(path.join(ROOT, entry))!;
    for (let symbol of checker.getExportsOfModule(checker.getSymbolAtLocation(file)!)) {
      const name = symbol.getName();
      if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
      for (const decl of symbol.getDeclarations() ?? []) {
        // A `const x = ...` keeps its comment on the statement.
        const holder = ts.isVariableDeclaration(decl) ? decl.parent.parent : decl;
        const doc = docOf(holder);
        if (doc.internal) continue;
        if (!doc.text) missing.add(`${entry}: ${name}`);
        if (!ts.isClassDeclaration(decl) && !ts.isInterfaceDeclaration(decl)) continue;
        for (const member of decl.members as ts.NodeArray<ts.ClassElement | ts.TypeElement>) {
          if (ts.isConstructorDeclaration(member) || ts.isIndexSignatureDeclaration(member) || !member.name) continue;
          const modifiers = ts.canHaveModifiers(member) ? (ts.getModifiers(member) ?? []) : [];
          if (modifiers.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword) || ts.isPrivateIdentifier(member.name)) continue;
          const m = docOf(member);
          if (!m.internal && !m.text) missing.add(`${entry}: ${name}.${member.name.getText()}`);
        }
      }
    }
  }
  return [...missing].sort();
}

describe("the public API is documented", () => {
  it("every export of every entry point, and every public member of its classes and interfaces, has a doc comment", () => {
    expect(undocumented()).toEqual([]);
  }, 60_000);
});
