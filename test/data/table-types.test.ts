import { tableFromIPC, Type } from "apache-arrow"
import { describe, expect, it } from "vitest"
import { readArrowIpcTable, tableToArrowIpc, tableToCsv, tableToMarkdown } from "../../src/data/table.js"

describe("table column types", () => {
  it("writes booleans as Bool, declared counts as Int32 and other numbers as Float64, and reads them back", () => {
    const rows = [
      { epoch: 1, psnr: 12.5, improved: true, note: "a" },
      { epoch: 2, psnr: null, improved: false, note: null },
      { epoch: null, psnr: 13, improved: null, note: "c" }
    ]
    const bytes = tableToArrowIpc(rows, ["epoch", "psnr", "improved", "note"], { epoch: "int32" })
    const types = tableFromIPC(bytes).schema.fields.map((f) => [f.name, f.type.typeId])
    expect(types).toEqual([
      ["epoch", Type.Int],
      ["psnr", Type.Float],
      ["improved", Type.Bool],
      ["note", Type.Utf8]
    ])
    expect(readArrowIpcTable(bytes).rows).toEqual(rows)
  })

  it("refuses a value an Int32 column cannot hold, and a column mixing booleans with numbers", () => {
    expect(() => tableToArrowIpc([{ epoch: 1.5 }], undefined, { epoch: "int32" })).toThrow(
      'table: column "epoch" is written as Int32 but row 0 holds 1.5, not a 32-bit integer'
    )
    expect(() => tableToArrowIpc([{ epoch: 2 ** 31 }], undefined, { epoch: "int32" })).toThrow(/not a 32-bit integer/)
    expect(() => tableToArrowIpc([{ flag: true }, { flag: 1 }])).toThrow(
      'table: column "flag" mixes booleans and numbers (row 1 is a number); give each column one type'
    )
  })

  it("writes booleans as true and false in CSV and Markdown", () => {
    expect(tableToCsv([{ ok: true }, { ok: false }, { ok: null }])).toBe("ok\ntrue\nfalse\n\n")
    expect(tableToMarkdown([{ ok: true }])).toBe("| ok   |\n| ---- |\n| true |\n")
  })
})
