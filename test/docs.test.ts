/**
 * Documentation that cannot rot: every TypeScript block of the README and every `@example`
 * in the library's doc comments compiles against the published entries ("seqlab",
 * "seqlab/internal") with the project's strict settings, and the README's blocks run.
 *
 * An `@example` (up to the next blank line, tag or the comment's end) is compiled as the body
 * of an async function, with every public and internal name imported (and `assert`), so it
 * must declare whatever else it uses.
 * A README block is compiled as written: its imports at the top, the rest in an async main.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import * as ts from "typescript";

const root = path.join(__dirname, "..");
const out = path.join(root, "out", "docs");

/** The names an entry exports, split into values and types. */
function exportsOf(file: string): { values: string[]; types: string[] } {
  const src = fs.readFileSync(file, "utf-8");
  const values: string[] = [];
  const types: string[] = [];
  for (const m of src.matchAll(/export (type )?\{([^}]*)\} from "[^"]+";/g)) {
    const names = m[2]
      .split(",")
      .map((n) => n.trim())
      .filter(Boolean);
    (m[1] ? types : values).push(...names);
  }
  return { values, types };
}

interface Snippet {
  /** Where it comes from, for messages: "README.md:42" or "src/x.ts:17". */
  where: string;
  /** The file written for it under out/docs. */
  file: string;
  /** Line of the snippet's first line in the written file. */
  offset: number;
  /** Line of the snippet's first line in its source. */
  line: number;
}

function wrapExample(code: string, where: string): { text: string; offset: number } {
  const pub = exportsOf(path.join(root, "src", "index.ts"));
  const int = exportsOf(path.join(root, "src", "internal.ts"));
  const publicNames = new Set([...pub.values, ...pub.types]);
  const prelude = [
    `// ${where}`,
    'import { strict as assert } from "node:assert";',
    `import { tf, ${[...pub.values, ...pub.types.map((t) => `type ${t}`)].join(", ")} } from "seqlab";`,
    `import { ${[...int.values, ...int.types.map((t) => `type ${t}`)].filter((n) => !publicNames.has(n.replace(/^type /, ""))).join(", ")} } from "seqlab/internal";`,
    "export async function example(): Promise<void> {",
  ];
  return { text: [...prelude, code, "}", ""].join("\n"), offset: prelude.length + 1 };
}

function wrapReadme(code: string, where: string): { text: string; offset: number } {
  const lines = code.split("\n");
  let k = 0;
  let inImport = false;
  while (k < lines.length && (inImport || /^import\b/.test(lines[k]) || lines[k].trim() === "")) {
    if (/^import\b/.test(lines[k])) inImport = !/;\s*$/.test(lines[k]);
    else if (inImport && /;\s*$/.test(lines[k])) inImport = false;
    k++;
  }
  const imports = lines.slice(0, k);
  const body = lines.slice(k);
  const head = [`// ${where}`, ...imports, "async function main(): Promise<void> {"];
  const tail = ["}", "main().catch((e) => {", "  console.error(e);", "  process.exit(1);", "});", ""];
  return { text: [...head, ...body, ...tail].join("\n"), offset: head.length - imports.length };
}

/** The ```ts blocks of a Markdown file, with their first line number. */
function markdownBlocks(file: string): { code: string; line: number }[] {
  const lines = fs.readFileSync(file, "utf-8").split("\n");
  const blocks: { code: string; line: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i])) continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && !/^```\s*$/.test(lines[j])) j++;
    blocks.push({ code: lines.slice(start, j).join("\n"), line: start + 1 });
    i = j;
  }
  return blocks;
}

/** The `@example` blocks of the library's doc comments. */
function docExamples(): { code: string; where: string; line: number }[] {
  const found: { code: string; where: string; line: number }[] = [];
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) return e.name === "assembly" ? [] : walk(p);
      return e.name.endsWith(".ts") ? [p] : [];
    });
  for (const file of walk(path.join(root, "src"))) {
    const lines = fs.readFileSync(file, "utf-8").split("\n");
    for (let i = 0; i < lines.length; i++) {
      if (!/^\s*\*\s*@example\s*$/.test(lines[i])) continue;
      const body: string[] = [];
      let j = i + 1;
      for (; j < lines.length; j++) {
        // An example ends at the comment's end, the next tag, or a blank line.
        if (/^\s*\*\//.test(lines[j]) || /^\s*\*\s*@\w+/.test(lines[j]) || /^\s*\*\s*$/.test(lines[j])) break;
        body.push(lines[j].replace(/^\s*\* ?/, ""));
      }
      found.push({ code: body.join("\n"), where: `${path.relative(root, file)}:${i + 2}`, line: i + 2 });
      i = j - 1;
    }
  }
  return found;
}

function compile(files: string[]): ts.Diagnostic[] {
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    lib: ["lib.es2021.d.ts", "lib.es2022.error.d.ts", "lib.dom.d.ts"],
    types: ["node"],
    strict: true,
    esModuleInterop: true,
    skipLibCheck: true,
    noEmit: true,
  });
  return [...ts.getPreEmitDiagnostics(program)];
}

function describeDiagnostics(diagnostics: readonly ts.Diagnostic[], snippets: Snippet[]): string {
  return diagnostics
    .map((d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
      if (!d.file || d.start === undefined) return message;
      const s = snippets.find((x) => path.resolve(x.file) === path.resolve(d.file!.fileName));
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      return s
        ? `${s.where.replace(/:\d+$/, "")}:${s.line + line + 1 - s.offset}: ${message}`
        : `${d.file.fileName}:${line + 1}: ${message}`;
    })
    .join("\n");
}

describe("documentation", function () {
  this.timeout(300_000);
  const readme = markdownBlocks(path.join(root, "README.md"));
  const examples = docExamples();

  before(() => {
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(out, { recursive: true });
  });

  it("the README has TypeScript blocks and the library has @examples to check", () => {
    assert.ok(readme.length >= 3, `README blocks: ${readme.length}`);
    assert.ok(examples.length >= 8, `@examples: ${examples.length}`);
  });

  it("every README block and every @example compiles (strict, against the built entries)", () => {
    const snippets: Snippet[] = [];
    readme.forEach((b, k) => {
      const where = `README.md:${b.line}`;
      const { text, offset } = wrapReadme(b.code, where);
      const file = path.join(out, `readme-${k + 1}.ts`);
      fs.writeFileSync(file, text);
      snippets.push({ where, file, offset, line: b.line });
    });
    examples.forEach((e, k) => {
      const { text, offset } = wrapExample(e.code, e.where);
      const file = path.join(out, `example-${k + 1}.ts`);
      fs.writeFileSync(file, text);
      snippets.push({ where: e.where, file, offset, line: e.line });
    });
    const diagnostics = compile(snippets.map((s) => s.file));
    assert.equal(diagnostics.length, 0, describeDiagnostics(diagnostics, snippets));
  });

  it("the compile check fails on a broken example (it is not vacuous)", () => {
    const { text } = wrapExample('const n: number = initBackend;\nunroll(rnnCell, "not params", 3);', "broken");
    const file = path.join(out, "broken.ts");
    fs.writeFileSync(file, text);
    const diagnostics = compile([file]);
    assert.ok(diagnostics.length >= 2, `expected two errors, got ${diagnostics.length}`);
  });

  it("every README block runs and prints what the README says it prints", () => {
    const tsx = require.resolve("tsx/cli", { paths: [root] });
    readme.forEach((b, k) => {
      const file = path.join(out, `readme-${k + 1}.ts`);
      if (!fs.existsSync(file)) fs.writeFileSync(file, wrapReadme(b.code, `README.md:${b.line}`).text);
      const r = spawnSync(process.execPath, [tsx, file], { cwd: root, encoding: "utf-8", timeout: 240_000 });
      assert.equal(r.status, 0, `README.md:${b.line} failed:\n${r.stdout}\n${r.stderr}`);
      // A comment "// text …" after the last line shows what it prints: its words before the first number must appear.
      for (const m of b.code.matchAll(/^\/\/ ([A-Za-z][^0-9…\n]*)/gm)) {
        const words = m[1].trim();
        if (words.length >= 8) assert.ok(r.stdout.includes(words), `README.md:${b.line} should print "${words}…", printed:\n${r.stdout}`);
      }
    });
  });
});
