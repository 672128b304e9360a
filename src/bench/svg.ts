// A self-contained SVG bar chart for benchmark results, built as a string (no dependency): one
// panel per group (a test on a file), one horizontal bar per engine, each panel on its own scale
// because prefill and decode rates differ by 100x; min–max whiskers and the ratio to the reference.

export interface Bar {
  readonly label: string;
  /** The bar's length: the median. */
  readonly value: number;
  readonly min?: number;
  readonly max?: number;
  /** The bar others in its group are compared with (llama.cpp): drawn in grey. */
  readonly reference?: boolean;
}

export interface ChartGroup {
  readonly title: string;
  readonly bars: readonly Bar[];
}

export interface Chart {
  readonly title: string;
  readonly subtitle?: string;
  readonly unit: string;
  readonly groups: readonly ChartGroup[];
}

const WIDTH = 860;
const LABEL_W = 210;
const BAR_AREA = 470;
const BAR_H = 18;
const GAP = 6;
const PALETTE = ['#d9480f', '#1971c2', '#2f9e44', '#9c36b5', '#e67700', '#0c8599'];
const REFERENCE_COLOR = '#868e96';

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(x: number): string {
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1);
}

/** Coordinates with at most one decimal, so the file stays small and diffs stay readable. */
function c(x: number): string {
  return String(Math.round(x * 10) / 10);
}

export function renderBarChart(chart: Chart): string {
  // One colour per engine label across all panels, so the legend holds for every group.
  const colors = new Map<string, string>();
  for (const g of chart.groups) for (const b of g.bars) if (!b.reference && !colors.has(b.label)) colors.set(b.label, PALETTE[colors.size % PALETTE.length]!);
  const parts: string[] = [];
  let y = 28;
  parts.push(`<text x="12" y="${y}" font-size="17" font-weight="bold">${escapeXml(chart.title)}</text>`);
  if (chart.subtitle) {
    y += 20;
    parts.push(`<text x="12" y="${y}" font-size="12" fill="#495057">${escapeXml(chart.subtitle)}</text>`);
  }
  y += 14;
  for (const g of chart.groups) {
    y += 22;
    parts.push(`<text x="12" y="${y}" font-size="14" font-weight="bold">${escapeXml(g.title)}</text>`);
    y += 8;
    const scale = Math.max(...g.bars.map((b) => Math.max(b.value, b.max ?? 0)), 1e-9);
    const ref = g.bars.find((b) => b.reference);
    for (const b of g.bars) {
      const w = Math.max(0, (b.value / scale) * BAR_AREA);
      const color = b.reference ? REFERENCE_COLOR : colors.get(b.label)!;
      const mid = y + BAR_H / 2;
      parts.push(`<text x="${LABEL_W - 8}" y="${c(mid + 4)}" font-size="12" text-anchor="end">${escapeXml(b.label)}</text>`);
      parts.push(`<rect x="${LABEL_W}" y="${y}" width="${c(w)}" height="${BAR_H}" fill="${color}"><title>${escapeXml(`${b.label}: ${fmt(b.value)} ${chart.unit}`)}</title></rect>`);
      if (b.min !== undefined && b.max !== undefined && b.max > b.min) {
        const x0 = LABEL_W + (b.min / scale) * BAR_AREA;
        const x1 = LABEL_W + (b.max / scale) * BAR_AREA;
        parts.push(`<path d="M${c(x0)} ${c(mid)}H${c(x1)}M${c(x0)} ${c(mid - 4)}V${c(mid + 4)}M${c(x1)} ${c(mid - 4)}V${c(mid + 4)}" stroke="#212529" stroke-width="1" fill="none"/>`);
      }
      const ratio = ref && !b.reference && ref.value > 0 ? `  ${(b.value / ref.value).toFixed(2)}x` : '';
      parts.push(`<text x="${c(LABEL_W + Math.max(w, ((b.max ?? 0) / scale) * BAR_AREA) + 6)}" y="${c(mid + 4)}" font-size="12">${escapeXml(`${fmt(b.value)} ${chart.unit}${ratio}`)}</text>`);
      y += BAR_H + GAP;
    }
  }
  y += 12;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...parts,
    `</svg>`,
    '',
  ].join('\n');
}
