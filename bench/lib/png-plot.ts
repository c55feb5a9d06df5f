// Line charts as PNG with nothing but node:zlib: an RGB canvas, straight lines, a 3×5 pixel font for
// axis numbers and names, and the PNG container (IHDR, one zlib IDAT, IEND). No native module, no
// dependency, so the soak can draw its plot anywhere `node` runs.
import { crc32, deflateSync } from 'node:zlib';

type Rgb = readonly [number, number, number];

/** Glyphs of the font, 3 pixels wide, 5 rows; '#' is ink. Unknown characters draw as blanks. */
const FONT: Record<string, string> = {
  '0': '###,#.#,#.#,#.#,###',
  '1': '.#.,##.,.#.,.#.,###',
  '2': '###,..#,###,#..,###',
  '3': '###,..#,.##,..#,###',
  '4': '#.#,#.#,###,..#,..#',
  '5': '###,#..,###,..#,###',
  '6': '###,#..,###,#.#,###',
  '7': '###,..#,.#.,.#.,.#.',
  '8': '###,#.#,###,#.#,###',
  '9': '###,#.#,###,..#,###',
  '.': '...,...,...,...,.#.',
  '-': '...,...,###,...,...',
  '/': '..#,..#,.#.,#..,#..',
  '(': '.#.,#..,#..,#..,.#.',
  ')': '.#.,..#,..#,..#,.#.',
  ',': '...,...,...,.#.,#..',
  ':': '...,.#.,...,.#.,...',
  '%': '#.#,..#,.#.,#..,#.#',
  A: '.#.,#.#,###,#.#,#.#',
  B: '##.,#.#,##.,#.#,##.',
  C: '###,#..,#..,#..,###',
  D: '##.,#.#,#.#,#.#,##.',
  E: '###,#..,##.,#..,###',
  F: '###,#..,##.,#..,#..',
  G: '###,#..,#.#,#.#,###',
  H: '#.#,#.#,###,#.#,#.#',
  I: '###,.#.,.#.,.#.,###',
  J: '..#,..#,..#,#.#,###',
  K: '#.#,#.#,##.,#.#,#.#',
  L: '#..,#..,#..,#..,###',
  M: '#.#,###,###,#.#,#.#',
  N: '##.,#.#,#.#,#.#,#.#',
  O: '###,#.#,#.#,#.#,###',
  P: '###,#.#,###,#..,#..',
  Q: '###,#.#,#.#,###,..#',
  R: '##.,#.#,##.,#.#,#.#',
  S: '###,#..,###,..#,###',
  T: '###,.#.,.#.,.#.,.#.',
  U: '#.#,#.#,#.#,#.#,###',
  V: '#.#,#.#,#.#,#.#,.#.',
  W: '#.#,#.#,###,###,#.#',
  X: '#.#,#.#,.#.,#.#,#.#',
  Y: '#.#,#.#,.#.,.#.,.#.',
  Z: '###,..#,.#.,#..,###',
};

/** An RGB image in memory. */
class Canvas {
  readonly pixels: Buffer;
  readonly width: number;
  readonly height: number;
  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
    this.pixels = Buffer.alloc(width * height * 3, 255);
  }

  set(x: number, y: number, [r, g, b]: Rgb): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    const at = (yi * this.width + xi) * 3;
    this.pixels[at] = r;
    this.pixels[at + 1] = g;
    this.pixels[at + 2] = b;
  }

  /** A line by stepping along its longer axis, `thick` pixels wide. */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb, thick = 1): void {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      for (let d = 0; d < thick; d++) this.set(x, y + d, color);
    }
  }

  rect(x: number, y: number, w: number, h: number, color: Rgb): void {
    for (let i = 0; i < w; i++) for (let j = 0; j < h; j++) this.set(x + i, y + j, color);
  }

  /** Text in the 3×5 font, `scale` pixels per font pixel, upper case. */
  text(x: number, y: number, text: string, color: Rgb, scale = 2): void {
    let cx = x;
    for (const ch of text.toUpperCase()) {
      const glyph = FONT[ch];
      if (glyph) {
        glyph.split(',').forEach((row, r) => {
          for (let c = 0; c < 3; c++) {
            if (row[c] === '#') this.rect(cx + c * scale, y + r * scale, scale, scale, color);
          }
        });
      }
      cx += 4 * scale;
    }
  }

  textWidth(text: string, scale = 2): number {
    return text.length * 4 * scale - scale;
  }

  png(): Buffer {
    const row = this.width * 3 + 1;
    const raw = Buffer.alloc(row * this.height);
    for (let y = 0; y < this.height; y++) {
      raw[y * row] = 0; // filter: none
      this.pixels.copy(raw, y * row + 1, y * this.width * 3, (y + 1) * this.width * 3);
    }
    const chunk = (type: string, data: Buffer) => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(data.length, 0);
      head.write(type, 4, 'latin1');
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
      return Buffer.concat([head, data, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(this.width, 0);
    ihdr.writeUInt32BE(this.height, 4);
    ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter method, no interlace
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(raw)),
      chunk('IEND', Buffer.alloc(0)),
    ]);
  }
}

/** One line of a panel: its name (legend) and its points. */
export interface PlotSeries {
  name: string;
  points: { x: number; y: number }[];
}

/** One chart of the figure: a title, the y unit, its lines. */
export interface PlotPanel {
  title: string;
  series: PlotSeries[];
}

/** Options of {@link linePlotPng}. */
export interface LinePlotOptions {
  /** Shared x axis name, e.g. `MINUTES`. */
  xLabel: string;
  /** A vertical marker (e.g. the end of the warm-up), in x units. @defaultValue none */
  markerX?: number;
  /** Pixel width. @defaultValue 1200 */
  width?: number;
  /** Pixel height of each panel. @defaultValue 260 */
  panelHeight?: number;
}

const PALETTE: Rgb[] = [
  [31, 119, 180],
  [214, 39, 40],
  [44, 160, 44],
  [255, 127, 14],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [23, 190, 207],
];
const INK: Rgb = [40, 40, 40];
const GRID: Rgb = [225, 225, 225];
const MARKER: Rgb = [160, 160, 160];

/** A round step giving about `ticks` ticks over `span`. */
function niceStep(span: number, ticks: number): number {
  const raw = span / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

function tickLabel(v: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return v.toFixed(decimals);
}

/**
 * Panels stacked vertically sharing one x axis, each with its own y range (from 0 or the data's
 * minimum, whichever is lower), grid lines, tick numbers and a legend.
 */
export function linePlotPng(panels: PlotPanel[], opts: LinePlotOptions): Buffer {
  const width = opts.width ?? 1200;
  const panelHeight = opts.panelHeight ?? 260;
  const top = 10;
  const canvas = new Canvas(width, top + panels.length * panelHeight + 40);
  const left = 90;
  const right = width - 20;
  const xs = panels.flatMap(p => p.series.flatMap(s => s.points.map(pt => pt.x)));
  const xMin = Math.min(0, ...xs);
  const xMax = Math.max(xMin + 1e-9, ...xs);
  const xStep = niceStep(xMax - xMin, 10);
  const px = (x: number) => left + ((x - xMin) / (xMax - xMin)) * (right - left);
  panels.forEach((panel, p) => {
    const y0 = top + p * panelHeight + 30;
    const y1 = top + (p + 1) * panelHeight - 20;
    const ys = panel.series.flatMap(s => s.points.map(pt => pt.y)).filter(Number.isFinite);
    const yMax0 = ys.length ? Math.max(...ys) : 1;
    const yMin = Math.min(0, ...ys);
    const yStep = niceStep((yMax0 - yMin) * 1.05 || 1, 5);
    const yMax = Math.ceil((yMax0 * 1.05 || 1) / yStep) * yStep;
    const py = (y: number) => y1 - ((y - yMin) / (yMax - yMin)) * (y1 - y0);
    for (let v = yMin; v <= yMax + yStep / 2; v += yStep) {
      canvas.line(left, py(v), right, py(v), GRID);
      const label = tickLabel(v, yStep);
      canvas.text(left - 8 - canvas.textWidth(label), py(v) - 5, label, INK);
    }
    for (let v = Math.ceil(xMin / xStep) * xStep; v <= xMax; v += xStep) {
      canvas.line(px(v), y0, px(v), y1, GRID);
    }
    if (opts.markerX !== undefined) {
      for (let y = y0; y < y1; y += 6) canvas.line(px(opts.markerX), y, px(opts.markerX), y + 3, MARKER);
    }
    canvas.line(left, y1, right, y1, INK);
    canvas.line(left, y0, left, y1, INK);
    canvas.text(left, y0 - 22, panel.title, INK);
    let lx = left + canvas.textWidth(panel.title) + 30;
    panel.series.forEach((series, s) => {
      const color = PALETTE[s % PALETTE.length]!;
      canvas.rect(lx, y0 - 21, 16, 8, color);
      canvas.text(lx + 22, y0 - 22, series.name, INK);
      lx += 22 + canvas.textWidth(series.name) + 24;
      let prev: { x: number; y: number } | undefined;
      for (const pt of series.points) {
        if (!Number.isFinite(pt.y)) {
          prev = undefined;
          continue;
        }
        if (prev) canvas.line(px(prev.x), py(prev.y), px(pt.x), py(pt.y), color, 2);
        prev = pt;
      }
    });
  });
  const axisY = top + panels.length * panelHeight - 10;
  for (let v = Math.ceil(xMin / xStep) * xStep; v <= xMax; v += xStep) {
    const label = tickLabel(v, xStep);
    canvas.text(px(v) - canvas.textWidth(label) / 2, axisY, label, INK);
  }
  canvas.text((left + right) / 2 - canvas.textWidth(opts.xLabel) / 2, axisY + 18, opts.xLabel, INK);
  return canvas.png();
}
