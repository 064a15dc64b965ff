import { t } from '../i18n.ts';
import type { Map as MapLibreMap } from 'maplibre-gl';
import type { Tool } from './tool-host.ts';

/**
 * The current view as a PNG. The map's WebGL canvas keeps its pixels only during the frame that drew them
 * (no `preserveDrawingBuffer`, which would slow every frame), so the image is read in the `render` event of a
 * frame asked for on purpose.
 */
export function mapImage(map: MapLibreMap): Promise<Blob> {
  return new Promise((resolve) => {
    map.once('render', () => {
      // toDataURL reads the pixels now, while they are there (toBlob may read them later).
      const base64 = map.getCanvas().toDataURL('image/png').split(',')[1]!;
      resolve(new Blob([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], { type: 'image/png' }));
    });
    map.triggerRepaint();
  });
}

function fileName(map: MapLibreMap): string {
  const c = map.getCenter();
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '');
  return `citybase-${stamp}-${c.lng.toFixed(4)}_${c.lat.toFixed(4)}_z${map.getZoom().toFixed(1)}.png`;
}

export function exportTool(map: MapLibreMap): Tool {
  return {
    id: 'export',
    icon: 'export',
    kind: 'action',
    label: () => t().exportPng,
    start() {
      void mapImage(map).then((blob) => {
        const a = document.createElement('a');
        a.href = URL.createObjectURL(blob);
        a.download = fileName(map);
        a.click();
        setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      });
    },
    stop() {},
  };
}
