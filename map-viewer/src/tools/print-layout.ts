import type { CatalogLayer } from '../catalog.ts';
import { local, t } from '../i18n.ts';
import type { Map as MapLibreMap } from 'maplibre-gl';
import { maplibre } from '../map/maplibre.ts';
import type { LegendEntry } from '../ui/legend.ts';
import { onePagePdf, pngWithDpi } from './pdf.ts';

/**
 * The print layout (loaded on demand, with the print tool's first use): a page of A4 or A3, portrait or
 * landscape, at 300 dpi, with the title, the map, the legend of the visible layers, a scale bar and the scale,
 * a north arrow, the date, the data sources and the CGCS2000 note; saved as a PNG (its resolution written in)
 * or a one-page PDF. The map is drawn again for the page by a second, hidden MapLibre map of the page's size
 * at 300 dpi (the screen's pixels would print blurred), with the same style, centre and bearing, zoomed so it
 * covers what the screen shows.
 */
export type Paper = 'A4' | 'A3';
export type Orientation = 'portrait' | 'landscape';
export type Format = 'png' | 'pdf';

export interface PrintRequest {
  title: string;
  paper: Paper;
  orientation: Orientation;
  format: Format;
}

export interface PrintSources {
  map: MapLibreMap;
  visible: () => CatalogLayer[];
  legend: (layer: CatalogLayer) => LegendEntry[];
}

export interface Printed {
  blob: Blob;
  fileName: string;
  /** What the page shows, for whoever checks it: pixels, scale, legend entries. */
  widthPx: number;
  heightPx: number;
  scale: number;
  legendEntries: number;
}

const DPI = 300;
const PAPER_MM: Record<Paper, [number, number]> = { A4: [210, 297], A3: [297, 420] };
const MM = DPI / 25.4; // pixels per millimetre on the page
const CSS_PX_MM = 96 / 25.4; // CSS pixels per millimetre
const FONT = "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif";

/** The map drawn by a hidden map of `w × h` CSS pixels at the page's resolution, once everything is loaded. */
async function renderMap(source: MapLibreMap, w: number, h: number): Promise<{ canvas: HTMLCanvasElement; zoom: number; lat: number }> {
  const container = document.createElement('div');
  // Off screen, but laid out (a hidden element has no size).
  Object.assign(container.style, { position: 'fixed', left: '-20000px', top: '0', width: `${w}px`, height: `${h}px` });
  document.body.append(container);
  const screen = source.getContainer();
  // Zoomed so the frame covers what the screen shows (a frame larger than the screen shows more around it).
  const zoom = source.getZoom() + Math.log2(Math.min(w / screen.clientWidth, h / screen.clientHeight));
  const center = source.getCenter();
  const map = new maplibre.Map({
    container,
    style: source.getStyle(),
    center,
    zoom,
    bearing: source.getBearing(),
    pitch: 0,
    interactive: false,
    attributionControl: false,
    pixelRatio: DPI / 96,
    canvasContextAttributes: { preserveDrawingBuffer: true },
    fadeDuration: 0,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      map.once('idle', () => resolve());
      map.once('error', (e) => reject(e.error));
    });
    const copy = document.createElement('canvas');
    copy.width = map.getCanvas().width;
    copy.height = map.getCanvas().height;
    copy.getContext('2d')!.drawImage(map.getCanvas(), 0, 0);
    return { canvas: copy, zoom, lat: center.lat };
  } finally {
    map.remove();
    container.remove();
  }
}

/** 1 : N for a MapLibre zoom at a latitude, printed at 96 CSS pixels per inch × the page's resolution. */
function scaleDenominator(zoom: number, lat: number): number {
  const metresPerCssPx = (40075016.686 * Math.cos((lat * Math.PI) / 180)) / (512 * 2 ** zoom);
  return metresPerCssPx / (0.0254 / 96);
}

/** A round length (1, 2, 5 × 10ⁿ m) at most `maxMm` long on paper at 1:`scale`. */
function niceLength(scale: number, maxMm: number): number {
  const maxM = (maxMm / 1000) * scale;
  const p = 10 ** Math.floor(Math.log10(maxM));
  return [5, 2, 1].map((f) => f * p).find((v) => v <= maxM) ?? p;
}

const formatScale = (n: number) => `1:${Math.round(n).toLocaleString('zh-CN')}`;
const formatLength = (m: number) => (m >= 1000 ? `${m / 1000} km` : `${m} m`);

export async function printLayout(req: PrintRequest, src: PrintSources): Promise<Printed> {
  const words = t();
  const [shortMm, longMm] = PAPER_MM[req.paper];
  const [pageW, pageH] = req.orientation === 'landscape' ? [longMm, shortMm] : [shortMm, longMm];
  const margin = 10;
  const titleH = 14;
  const footH = 18;
  const legendW = req.orientation === 'landscape' ? 62 : 0;
  const legendH = req.orientation === 'portrait' ? Math.round(pageH * 0.2) : 0;
  const frame = { x: margin, y: margin + titleH, w: pageW - 2 * margin - legendW - (legendW ? 4 : 0), h: pageH - 2 * margin - titleH - footH - legendH - (legendH ? 4 : 0) };

  const { canvas: mapCanvas, zoom, lat } = await renderMap(src.map, Math.round(frame.w * CSS_PX_MM), Math.round(frame.h * CSS_PX_MM));
  const scale = scaleDenominator(zoom, lat);

  const page = document.createElement('canvas');
  page.width = Math.round(pageW * MM);
  page.height = Math.round(pageH * MM);
  const ctx = page.getContext('2d')!;
  const px = (mm: number) => mm * MM;
  const font = (mm: number, weight = 'normal') => `${weight} ${px(mm)}px ${FONT}`;
  ctx.fillStyle = '#FFFFFF';
  ctx.fillRect(0, 0, page.width, page.height);
  ctx.fillStyle = '#1F2328';
  ctx.textBaseline = 'middle';

  // Title.
  ctx.font = font(7, 'bold');
  ctx.textAlign = 'center';
  ctx.fillText(req.title, px(pageW / 2), px(margin + titleH / 2 - 1), px(pageW - 2 * margin));

  // Map in its frame.
  ctx.drawImage(mapCanvas, px(frame.x), px(frame.y), px(frame.w), px(frame.h));
  ctx.lineWidth = px(0.3);
  ctx.strokeStyle = '#1F2328';
  ctx.strokeRect(px(frame.x), px(frame.y), px(frame.w), px(frame.h));

  // North arrow, turned with the map, in the frame's top right corner.
  const na = { x: frame.x + frame.w - 10, y: frame.y + 12 };
  ctx.save();
  ctx.translate(px(na.x), px(na.y));
  ctx.rotate((-src.map.getBearing() * Math.PI) / 180);
  ctx.fillStyle = 'rgba(255,255,255,0.85)';
  ctx.beginPath();
  ctx.arc(0, 0, px(7), 0, 2 * Math.PI);
  ctx.fill();
  ctx.fillStyle = '#1F2328';
  ctx.beginPath();
  ctx.moveTo(0, px(-5.5));
  ctx.lineTo(px(2.6), px(3.5));
  ctx.lineTo(0, px(2));
  ctx.lineTo(px(-2.6), px(3.5));
  ctx.closePath();
  ctx.fill();
  ctx.font = font(3, 'bold');
  ctx.textAlign = 'center';
  ctx.fillText('N', 0, px(-3.2) - px(3.2));
  ctx.restore();

  // Legend: the visible layers, thematic first, as many entries as fit.
  const layers = [...src.visible()].sort((a, b) => Number(a.theme === 'basemap') - Number(b.theme === 'basemap'));
  const box = legendW
    ? { x: frame.x + frame.w + 4, y: frame.y, w: legendW, h: frame.h }
    : { x: frame.x, y: frame.y + frame.h + 4, w: frame.w, h: legendH };
  ctx.textAlign = 'left';
  ctx.font = font(4, 'bold');
  ctx.fillText(words.legend, px(box.x), px(box.y + 2.5));
  const line = 4.2;
  const columnW = legendW ? box.w : box.w / 3;
  let col = 0;
  let y = box.y + 8;
  let entries = 0;
  const next = () => {
    y += line;
    if (y > box.y + box.h - line) {
      col++;
      y = box.y + 8;
    }
    return col * columnW < box.w - 1;
  };
  outer: for (const layer of layers) {
    const items = src.legend(layer);
    if (items.length === 0) continue;
    ctx.font = font(3.2, 'bold');
    ctx.fillStyle = '#1F2328';
    ctx.fillText(local(layer.title), px(box.x + col * columnW), px(y), px(columnW - 2));
    if (!next()) break;
    ctx.font = font(2.8);
    for (const item of items) {
      const x = box.x + col * columnW;
      ctx.fillStyle = item.color;
      if (item.shape === 'line') ctx.fillRect(px(x), px(y - 0.4), px(6), px(0.8));
      else if (item.shape === 'circle') {
        ctx.beginPath();
        ctx.arc(px(x + 3), px(y), px(1.6), 0, 2 * Math.PI);
        ctx.fill();
      } else ctx.fillRect(px(x), px(y - 1.5), px(6), px(3));
      ctx.strokeStyle = 'rgba(0,0,0,0.35)';
      ctx.lineWidth = px(0.15);
      if (item.shape === 'fill') ctx.strokeRect(px(x), px(y - 1.5), px(6), px(3));
      ctx.fillStyle = '#1F2328';
      ctx.fillText(local(item.label), px(x + 8), px(y), px(columnW - 10));
      entries++;
      if (!next()) break outer;
    }
  }

  // Foot: scale bar and scale, date, sources, the coordinate system.
  const footY = pageH - margin - footH;
  const barM = niceLength(scale, 40);
  const barMm = (barM / scale) * 1000;
  ctx.fillStyle = '#1F2328';
  ctx.strokeStyle = '#1F2328';
  ctx.lineWidth = px(0.3);
  const barY = footY + 5;
  for (let i = 0; i < 4; i++) {
    ctx.fillStyle = i % 2 ? '#FFFFFF' : '#1F2328';
    ctx.fillRect(px(margin + (i * barMm) / 4), px(barY), px(barMm / 4), px(1.5));
  }
  ctx.strokeRect(px(margin), px(barY), px(barMm), px(1.5));
  ctx.fillStyle = '#1F2328';
  ctx.font = font(2.8);
  ctx.textAlign = 'left';
  ctx.fillText('0', px(margin), px(barY + 4));
  ctx.textAlign = 'right';
  ctx.fillText(formatLength(barM), px(margin + barMm), px(barY + 4));
  ctx.textAlign = 'left';
  ctx.font = font(3, 'bold');
  ctx.fillText(formatScale(scale), px(margin + barMm + 5), px(barY + 0.8));
  const date = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
  const sources = [...new Set(layers.map((l) => l.attribution).filter((a): a is string => Boolean(a)))].join('；');
  ctx.font = font(2.6);
  const textX = margin + Math.max(barMm + 30, 70);
  ctx.fillText(`${words.madeOn}：${date}`, px(textX), px(footY + 3), px(pageW - margin - textX));
  ctx.fillText(`${words.sources}：${sources || 'CityBase'}`, px(textX), px(footY + 7.5), px(pageW - margin - textX));
  ctx.fillText(words.crsNote, px(textX), px(footY + 12), px(pageW - margin - textX));

  const stamp = date.replaceAll('-', '');
  const base = `citybase-${req.paper}-${req.orientation}-${stamp}`;
  let blob: Blob;
  if (req.format === 'png') {
    const png = await new Promise<Blob>((resolve, reject) => page.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG failed'))), 'image/png'));
    blob = await pngWithDpi(png, DPI);
  } else {
    const jpeg = await new Promise<Blob>((resolve, reject) => page.toBlob((b) => (b ? resolve(b) : reject(new Error('JPEG failed'))), 'image/jpeg', 0.92));
    blob = onePagePdf({
      widthPt: (pageW / 25.4) * 72,
      heightPt: (pageH / 25.4) * 72,
      jpeg: new Uint8Array(await jpeg.arrayBuffer()),
      widthPx: page.width,
      heightPx: page.height,
      title: req.title,
      created: new Date(),
    });
  }
  return { blob, fileName: `${base}.${req.format}`, widthPx: page.width, heightPx: page.height, scale, legendEntries: entries };
}
