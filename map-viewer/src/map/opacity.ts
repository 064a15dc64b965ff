/** The paint properties that make a style layer of each type more or less opaque. */
const byType: Record<string, string[]> = {
  fill: ['fill-opacity'],
  line: ['line-opacity'],
  circle: ['circle-opacity', 'circle-stroke-opacity'],
  symbol: ['text-opacity', 'icon-opacity'],
  'fill-extrusion': ['fill-extrusion-opacity'],
  heatmap: ['heatmap-opacity'],
  raster: ['raster-opacity'],
  hillshade: [],
  background: ['background-opacity'],
};

export const opacityProps = (type: string): string[] => byType[type] ?? [];
