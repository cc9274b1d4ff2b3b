/**
 * The pieces every HTML report of the pipeline is built from: escaping, tables, pictures and
 * inline SVG figures, and the self-contained page around them (no file is fetched from elsewhere,
 * so a page can be mailed or archived as one file).
 */

/** Text made safe inside an element or a double-quoted attribute (of HTML, and of SVG). */
export const escapeHtml = (text: string): string =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;")

export interface HtmlTable {
  readonly header: ReadonlyArray<string>
  /** Cells as text; each row's first cell is its header. */
  readonly rows: ReadonlyArray<ReadonlyArray<string>>
  /** Row indices to highlight. */
  readonly marked?: ReadonlySet<number>
  readonly caption?: string
}

export const htmlTable = (t: HtmlTable): string => {
  const head = `<tr>${t.header.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr>`
  const body = t.rows
    .map(
      (r, i) =>
        `<tr${t.marked?.has(i) ? ' class="differs"' : ""}>${r.map((c, j) => (j === 0 ? `<th scope="row">${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`)).join("")}</tr>`
    )
    .join("\n")
  return `<table>${t.caption === undefined ? "" : `<caption>${escapeHtml(t.caption)}</caption>`}<thead>${head}</thead><tbody>${body}</tbody></table>`
}

/** A PNG file's bytes as a data: URI, for an `<img>` the page carries itself. */
export const pngDataUri = (bytes: Uint8Array): string =>
  `data:image/png;base64,${Buffer.from(bytes).toString("base64")}`

/** A caption of plain text. */
export const figcaption = (text: string): string => `<figcaption>${escapeHtml(text)}</figcaption>`

/** A picture with its alternative text and a caption already in HTML (see {@link figcaption}). */
export const imageFigure = (uri: string, alt: string, captionHtml: string): string =>
  `<figure><img src="${uri}" alt="${escapeHtml(alt)}">${captionHtml}</figure>`

/** Inline SVG figures of one page. */
export interface SvgFigures {
  /** The SVG inline in a `<figure>`, with a caption already in HTML and a class when given. */
  readonly figure: (svg: string, options?: { readonly captionHtml?: string; readonly className?: string }) => string
}

/**
 * Vega's SVG defines ids (clip paths, gradients); several plots inline in one page would share
 * them, and each plot would then clip with the first one's shapes. Each figure of a page gets its
 * own prefix from the page's own count, so two pages made at once number their figures alike.
 */
export const svgFigures = (prefix = "f"): SvgFigures => {
  const count = { figures: 0 }
  const uniqueIds = (svg: string): string => {
    const p = `${prefix}${++count.figures}-`
    return svg
      .replace(/^<\?xml[^>]*>\s*/, "")
      .replace(/\sid="([^"]+)"/g, ` id="${p}$1"`)
      .replace(/url\(#([^)]+)\)/g, `url(#${p}$1)`)
      .replace(/href="#([^"]+)"/g, `href="#${p}$1"`)
  }
  return {
    figure: (svg, options = {}) =>
      `<figure${options.className === undefined ? "" : ` class="${options.className}"`}>${uniqueIds(svg)}${options.captionHtml ?? ""}</figure>`
  }
}

const baseStyle = `
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1400px; padding: 0 16px; color: #222; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 4px; margin-top: 2em; }
table { border-collapse: collapse; margin: 12px 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th[scope=row], thead th:first-child { text-align: left; white-space: nowrap; }
thead th { background: #f0f0f0; }
tr.differs { background: #fff3c4; }
.note { color: #555; font-size: 0.9em; }
figure { margin: 8px; } figure img { image-rendering: pixelated; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #444; }
.broken { outline: 3px solid red; }
#image-warning { color: #b00; font-weight: bold; }
`

// Flags any picture the browser could not decode, on the page and for headless checks.
const imageCheck = `
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const broken = images.filter((img) => !img.complete || img.naturalWidth === 0);
  broken.forEach((img) => img.classList.add("broken"));
  document.body.dataset.images = String(images.length);
  document.body.dataset.brokenImages = String(broken.length);
  if (broken.length > 0) {
    const p = document.createElement("p");
    p.id = "image-warning";
    p.textContent = broken.length + " of " + images.length + " pictures could not be shown.";
    document.body.prepend(p);
  }
});
`

export interface HtmlPage {
  /** Plain text, for the window's title. */
  readonly title: string
  /** CSS rules after the shared ones, which they may override. */
  readonly style?: string
  /** The body's HTML. */
  readonly body: string
}

/**
 * A whole page: the shared style and the check that marks pictures the browser could not show
 * (the body's data-images and data-broken-images count them for headless checks).
 */
export const htmlPage = (page: HtmlPage): string => `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>${baseStyle}${page.style ?? ""}</style>
<script>${imageCheck}</script>
</head>
<body>
${page.body}
</body>
</html>
`
