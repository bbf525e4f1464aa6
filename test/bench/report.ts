// The result table: figure | value | reference | ratio | target | pass/fail, printed as text and
// written as markdown (test/bench/last-run.md) for RESULTS.md to quote.
import fs from "node:fs";

export interface Row {
  /** A section heading row when set: the other fields are ignored. */
  section?: string;
  figure: string;
  value: string;
  reference: string;
  ratio: string;
  target: string;
  /** "pass", "FAIL", "info", "n/a", "error" */
  verdict: string;
}

export class Report {
  readonly rows: Row[] = [];
  readonly notes: string[] = [];
  readonly header: [string, string][] = [];

  section(title: string): void {
    this.rows.push({ section: title, figure: "", value: "", reference: "", ratio: "", target: "", verdict: "" });
  }

  add(row: Omit<Row, "section">): void {
    this.rows.push(row);
  }

  /** A figure that could not be measured: the run goes on, the table says why. */
  error(figure: string, err: unknown, target = ""): void {
    const msg = err instanceof Error ? err.message : String(err);
    this.rows.push({ figure, value: `error: ${msg.split("\n")[0]!.slice(0, 160)}`, reference: "", ratio: "", target, verdict: "error" });
  }

  get failed(): number {
    return this.rows.filter((r) => r.verdict === "FAIL").length;
  }

  get errors(): number {
    return this.rows.filter((r) => r.verdict === "error").length;
  }

  text(): string {
    const cols: (keyof Row)[] = ["figure", "value", "reference", "ratio", "target", "verdict"];
    const titles = ["figure", "value", "reference", "ratio", "target", "pass/fail"];
    const body = this.rows.filter((r) => !r.section);
    const width = cols.map((c, i) => Math.max(titles[i]!.length, ...body.map((r) => String(r[c]).length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i]!)).join(" | ").trimEnd();
    const out: string[] = [];
    for (const [k, v] of this.header) out.push(`${k}: ${v}`);
    out.push("");
    out.push(line(titles));
    out.push(width.map((w) => "-".repeat(w)).join("-+-"));
    for (const r of this.rows) {
      if (r.section) out.push(`-- ${r.section}`);
      else out.push(line(cols.map((c) => String(r[c]))));
    }
    if (this.notes.length) {
      out.push("");
      for (const n of this.notes) out.push(`* ${n}`);
    }
    return out.join("\n");
  }

  markdown(): string {
    const esc = (s: string) => s.replace(/\|/g, "\\|");
    const out: string[] = [];
    for (const [k, v] of this.header) out.push(`- **${k}**: ${esc(v)}`);
    out.push("");
    out.push("| figure | value | reference | ratio | target | pass/fail |");
    out.push("|---|---|---|---|---|---|");
    for (const r of this.rows) {
      if (r.section) out.push(`| **${esc(r.section)}** | | | | | |`);
      else out.push(`| ${[r.figure, r.value, r.reference, r.ratio, r.target, r.verdict].map(esc).join(" | ")} |`);
    }
    if (this.notes.length) {
      out.push("");
      for (const n of this.notes) out.push(`- ${n}`);
    }
    return out.join("\n") + "\n";
  }

  writeMarkdown(file: string, title: string): void {
    fs.writeFileSync(file, `# ${title}\n\n${this.markdown()}`);
  }
}

// ---- numbers ----

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(3)} s`;
}

/** "0.812 s (0.790–0.905, n=3)" */
export function spread(msList: readonly number[]): string {
  const med = median(msList);
  if (msList.length < 2) return seconds(med);
  return `${seconds(med)} (${(Math.min(...msList) / 1000).toFixed(3)}–${(Math.max(...msList) / 1000).toFixed(3)}, n=${msList.length})`;
}

export function ratio(x: number, ref: number): string {
  return `${(x / ref).toFixed(2)}×`;
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function verdict(ok: boolean): string {
  return ok ? "pass" : "FAIL";
}
