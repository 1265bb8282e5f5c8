/**
 * `npm run build`: both packages from the one source tree.
 *   dist/lib        cdktf-xen (cdktf 0.21), the package of this directory
 *   dist/cdktn-xen  cdktn-xen (CDK Terrain), a package of its own: package.json, README.md, LICENSE, dist/lib
 * The cdktn flavour compiles the same sources against cdktn's types, with
 * lib/private/cdk.ts (the one module that imports the CDK) rewritten: its
 * imports from `cdktn`, and its FLAVOUR. Every rewrite must find exactly what
 * it replaces, or the build fails.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { copyAssets, filesUnder } from "./assets";

const ROOT = path.resolve(__dirname, "..");
const DIST = path.join(ROOT, "dist");
const SEAM = path.join("lib", "private", "cdk.ts");

/** What `cdktn-xen` sets in lib/private/cdk.ts. */
const CDKTN_FLAVOUR = `export const FLAVOUR: Flavour = { pkg: "cdktn-xen", cdk: "cdktn", cli: "cdktn", engine: "terraform_data", json: "safe-stable-stringify" };`;

function fail(message: string): never {
  process.stderr.write(`flavours/build: ${message}\n`);
  process.exit(1);
}

function tsc(project: string): void {
  const r = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", project], { stdio: "inherit" });
  if (r.status !== 0) fail(`tsc -p ${path.relative(ROOT, project)} failed`);
}

/** `text` (of `where`) with `pattern` (global) replaced by `to`, which must match exactly `times` times. */
function replaceExactly(where: string, text: string, pattern: RegExp, to: string, times: number): string {
  const found = text.match(pattern)?.length ?? 0;
  if (found !== times) fail(`${where}: expected ${times} of ${pattern}, found ${found}`);
  return text.replace(pattern, to);
}

function buildCdktf(): void {
  tsc(path.join(ROOT, "tsconfig.build.json"));
  copyAssets(path.join(ROOT, "lib"), path.join(DIST, "lib"));
}

function buildCdktn(): void {
  const src = path.join(DIST, "cdktn-src");
  const pkgDir = path.join(DIST, "cdktn-xen");
  fs.cpSync(path.join(ROOT, "lib"), path.join(src, "lib"), { recursive: true });
  let seam = fs.readFileSync(path.join(ROOT, SEAM), "utf8");
  seam = replaceExactly(SEAM, seam, / from "cdktf";/g, ` from "cdktn";`, 2);
  seam = replaceExactly(SEAM, seam, /^export const FLAVOUR: Flavour = .*;$/gm, CDKTN_FLAVOUR, 1);
  fs.writeFileSync(path.join(src, SEAM), seam);
  const others = filesUnder(path.join(src, "lib"), [".ts"]).filter((f) => path.join("lib", f) !== SEAM && /from "cdktf"|require\("cdktf"\)/.test(fs.readFileSync(path.join(src, "lib", f), "utf8")));
  if (others.length) fail(`only ${SEAM} may import cdktf; these do too: ${others.join(", ")}`);
  fs.writeFileSync(
    path.join(src, "tsconfig.json"),
    JSON.stringify({ extends: path.join(ROOT, "tsconfig.build.json"), compilerOptions: { rootDir: ".", outDir: path.join(pkgDir, "dist"), baseUrl: ".", paths: {} }, include: ["lib/**/*.ts"], exclude: [] }, null, 2),
  );
  tsc(path.join(src, "tsconfig.json"));
  copyAssets(path.join(src, "lib"), path.join(pkgDir, "dist", "lib"));

  const own = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
  const cdktn = JSON.parse(fs.readFileSync(require.resolve("cdktn/package.json"), "utf8"));
  const manifest = {
    name: "cdktn-xen",
    version: own.version,
    description: replaceExactly("package.json description", own.description, /cdktf constructs/g, "CDK Terrain (cdktn) constructs", 1),
    license: own.license,
    main: own.main,
    types: own.types,
    exports: own.exports,
    typesVersions: own.typesVersions,
    files: own.files,
    engines: own.engines,
    dependencies: own.dependencies,
    bin: Object.fromEntries(Object.entries<string>(own.bin).map(([name, file]) => [name.replace(/^cdktf-xen/, "cdktn-xen"), file])),
    peerDependencies: { cdktn: `^${cdktn.version}`, constructs: cdktn.peerDependencies.constructs },
  };
  fs.writeFileSync(path.join(pkgDir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const f of ["README.md", "LICENSE"]) fs.copyFileSync(path.join(ROOT, f), path.join(pkgDir, f));
  fs.rmSync(src, { recursive: true });
}

// Only what this builds: dist/jsii and dist/python are `npm run jsii`'s.
for (const out of ["lib", "cdktn-src", "cdktn-xen"]) fs.rmSync(path.join(DIST, out), { recursive: true, force: true });
buildCdktf();
buildCdktn();
