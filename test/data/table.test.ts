import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { Float64, Int32, Table, Utf8, tableToIPC, vectorFromArray } from "apache-arrow"
import {
  readArrowIpc,
  readArrowIpcTable,
  tableToArrowIpc,
  tableToCsv,
  tableToMarkdown,
  type Row
} from "../../src/data/table.js"

/** Random tables: each column is all numbers (NaN, ±Infinity, -0 included) or all strings, with nulls and missing keys. */
const tables = fc
  .uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 5 })
  .chain((names) =>
    fc.tuple(
      fc.constant(names),
      fc.array(fc.boolean(), { minLength: names.length, maxLength: names.length }),
      fc.integer({ min: 0, max: 12 })
    )
  )
  .chain(([names, numeric, count]) =>
    fc.tuple(
      fc.constant(names),
      fc.array(
        fc.tuple(
          ...names.map((_, c) =>
            fc.option(
              (numeric[c] ? fc.double() : fc.string({ unit: "binary", maxLength: 8 })) as fc.Arbitrary<number | string>,
              { nil: null }
            )
          ),
          fc.array(fc.boolean(), { minLength: names.length, maxLength: names.length })
        ),
        { minLength: count, maxLength: count }
      )
    )
  )
  .map(([names, cells]) => ({
    names,
    rows: cells.map((tuple) => {
      const present = tuple[names.length] as boolean[]
      // A missing key reads back as null, like an explicit null.
      return Object.fromEntries(names.flatMap((name, c) => (present[c] ? [[name, tuple[c]]] : []))) as Row
    })
  }))

const complete = (rows: Row[], names: string[]): Row[] =>
  rows.map((row) => Object.fromEntries(names.map((n) => [n, Object.hasOwn(row, n) ? row[n] : null])))

describe("Arrow IPC", () => {
  it("round-trips numbers, strings, nulls, NaN, ±Infinity and -0 (property)", () => {
    fc.assert(
      fc.property(tables, ({ names, rows }) => {
        const { columns, rows: back } = readArrowIpcTable(tableToArrowIpc(rows, names))
        expect(columns).toEqual(names)
        // Arrow counts rows per column, so rows of no columns come back as no rows.
        expect(back).toHaveLength(names.length === 0 ? 0 : rows.length)
        if (names.length === 0) return
        // toEqual compares with Object.is, so NaN must stay NaN and -0 stay -0.
        expect(back).toEqual(complete(rows, names))
      })
    )
  })

  it("writes the file format with Float64 and Utf8 columns in first-seen order", () => {
    const bytes = tableToArrowIpc([
      { b: 1, a: "x" },
      { c: null, a: "y" }
    ])
    // Arrow file format starts and ends with the ARROW1 magic.
    const magic = new TextDecoder().decode(bytes.subarray(0, 6))
    expect(magic).toBe("ARROW1")
    expect(new TextDecoder().decode(bytes.subarray(bytes.length - 6))).toBe("ARROW1")
    const back = readArrowIpc(bytes)
    expect(back).toEqual([
      { b: 1, a: "x", c: null },
      { b: null, a: "y", c: null }
    ])
    expect(Object.keys(back[0])).toEqual(["b", "a", "c"])
  })

  it("keeps the column order of the file even for integer-like names", () => {
    const bytes = tableToArrowIpc([{ epoch: 1, "10": 0.5 }], ["epoch", "10"])
    expect(readArrowIpcTable(bytes).columns).toEqual(["epoch", "10"])
  })

  it("honours an explicit column list (subset, order, absent columns)", () => {
    const back = readArrowIpc(tableToArrowIpc([{ a: 1, b: 2 }], ["b", "z"]))
    expect(back).toEqual([{ b: 2, z: null }])
  })

  it("keeps a column called __proto__ as a column", () => {
    const row = Object.fromEntries([["__proto__", 3]]) as Row
    const back = readArrowIpc(tableToArrowIpc([row]))
    expect(Object.hasOwn(back[0], "__proto__")).toBe(true)
    expect(back[0]["__proto__"]).toBe(3)
  })

  it("writes and reads an empty table", () => {
    expect(readArrowIpc(tableToArrowIpc([]))).toEqual([])
    expect(readArrowIpc(tableToArrowIpc([], ["a"]))).toEqual([])
  })

  it("reads integer columns from other writers as numbers", () => {
    const table = new Table({
      n: vectorFromArray([1, null, 3], new Int32()),
      s: vectorFromArray(["a", "b", null], new Utf8())
    })
    expect(readArrowIpc(tableToIPC(table, "file"))).toEqual([
      { n: 1, s: "a" },
      { n: null, s: "b" },
      { n: 3, s: null }
    ])
    expect(readArrowIpc(tableToIPC(new Table({ f: vectorFromArray([0.5], new Float64()) }), "stream"))).toEqual([
      { f: 0.5 }
    ])
  })

  it("refuses a column that mixes numbers and strings, naming it", () => {
    expect(() => tableToArrowIpc([{ lr: 0.1 }, { lr: "0.2" }])).toThrow(/"lr" mixes numbers and strings/)
    expect(() => tableToArrowIpc([{ a: 1 }], ["a", "a"])).toThrow(/listed twice/)
    // Arrow JS would read an empty name back as "null".
    expect(() => tableToArrowIpc([{ "": 1 }])).toThrow(/empty name/)
  })
})

describe("CSV", () => {
  it("quotes commas, quotes and newlines as RFC 4180 says, with a header and \\n line ends", () => {
    const csv = tableToCsv([
      { name: "plain", note: 'say "hi", then\nleave', value: 1.5 },
      { name: "a\r\nb", note: "", value: null },
      { name: "x", note: null, value: NaN },
      { name: "y", note: "z", value: -Infinity }
    ])
    expect(csv).toBe(
      "name,note,value\n" + 'plain,"say ""hi"", then\nleave",1.5\n' + '"a\r\nb","",\n' + "x,,NaN\n" + "y,z,-Infinity\n"
    )
  })

  it("quotes header fields too and writes numbers in round-tripping form", () => {
    expect(tableToCsv([{ "a,b": 0.1 + 0.2, c: 1e-7 }])).toBe('"a,b",c\n0.30000000000000004,1e-7\n')
  })

  it("every record has as many fields as the header (property)", () => {
    // A minimal RFC 4180 reader, enough to check the writer's quoting.
    const parse = (text: string): string[][] => {
      const records: string[][] = []
      let record: string[] = []
      let field = ""
      let i = 0
      while (i < text.length) {
        const ch = text[i]
        if (ch === '"' && field === "") {
          i++
          while (!(text[i] === '"' && text[i + 1] !== '"')) {
            field += text[i] === '"' ? (i++, '"') : text[i]
            i++
          }
          i++
        } else if (ch === ",") {
          record.push(field), (field = ""), i++
        } else if (ch === "\n") {
          record.push(field), records.push(record), (record = []), (field = ""), i++
        } else {
          field += ch
          i++
        }
      }
      return records
    }
    fc.assert(
      fc.property(tables, ({ names, rows }) => {
        const csv = tableToCsv(rows, names)
        if (names.length === 0) {
          expect(csv).toBe("")
          return
        }
        const records = parse(csv)
        expect(records).toHaveLength(rows.length + 1)
        expect(records[0]).toEqual(names)
        complete(rows, names).forEach((row, r) =>
          expect(records[r + 1]).toEqual(names.map((n) => (row[n] === null ? "" : String(row[n]))))
        )
      })
    )
  })
})

describe("Markdown", () => {
  it("has a header, a separator and one line per row, numbers right-aligned", () => {
    const md = tableToMarkdown([
      { model: "SC", psnr: 21.25, note: "a|b" },
      { model: "VDL (ours)", psnr: 3, note: null }
    ])
    expect(md).toBe(
      "| model      |  psnr | note |\n" +
        "| ---------- | ----: | ---- |\n" +
        "| SC         | 21.25 | a\\|b |\n" +
        "| VDL (ours) |     3 |      |\n"
    )
  })

  it("rounds non-integers to the requested significant digits and escapes newlines", () => {
    const md = tableToMarkdown([{ loss: 0.123456, n: 60000, s: "two\nlines" }], undefined, { digits: 3 })
    expect(md.split("\n")[2]).toBe("| 0.123 | 60000 | two<br>lines |")
  })

  it("every line has the same number of cells (property)", () => {
    fc.assert(
      fc.property(tables, ({ names, rows }) => {
        const md = tableToMarkdown(rows, names)
        if (names.length === 0) {
          expect(md).toBe("")
          return
        }
        const lines = md.trimEnd().split("\n")
        expect(lines).toHaveLength(rows.length + 2)
        for (const line of lines) {
          // Cells are split by pipes that are not escaped.
          expect(line.replace(/\\\\/g, "").replace(/\\\|/g, "").split("|")).toHaveLength(names.length + 2)
          expect(line.startsWith("| ") && line.endsWith(" |")).toBe(true)
        }
      })
    )
  })
})
