// A small RFC 4180 reader for the fixtures: quoted fields (with "" for a quote, and commas or
// line breaks inside), CRLF or LF line ends, an optional UTF-8 byte order mark. Cells are kept
// exactly as written otherwise: invisible characters in phone cells are part of the test.

export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endCell = () => {
    row.push(cell);
    cell = "";
  };
  const endRow = () => {
    endCell();
    rows.push(row);
    row = [];
  };
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        cell += c;
      }
    } else if (c === '"' && cell === "") {
      quoted = true;
    } else if (c === ",") {
      endCell();
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRow();
    } else {
      cell += c;
    }
  }
  if (quoted) throw new Error("CSV: unterminated quoted field");
  if (cell !== "" || row.length > 0) endRow();
  return rows;
}

/** The rows as objects keyed by the header row. */
export function parseCsvObjects(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  if (!header) return [];
  return rows.map((r) => Object.fromEntries(header.map((h, k) => [h, r[k] ?? ""])));
}

/** One column of a CSV file with a header row. */
export function csvColumn(text: string, name: string): string[] {
  const [header, ...rows] = parseCsv(text);
  const k = header?.indexOf(name) ?? -1;
  if (k < 0) throw new Error(`CSV: no column ${name}`);
  return rows.map((r) => r[k] ?? "");
}
