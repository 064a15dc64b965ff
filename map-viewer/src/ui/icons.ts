/**
 * The few icons the viewer needs, as inline SVG (24×24, stroked): no icon font, no emoji (a city PC or a
 * tablet may have no colour-emoji font), nothing fetched.
 */
const paths: Record<string, string> = {
  search: 'M10.5 4a6.5 6.5 0 1 1 0 13a6.5 6.5 0 0 1 0-13zM15.5 15.5L20 20',
  distance: 'M3 17L17 3l4 4L7 21zM7 13l2 2M10 10l2 2M13 7l2 2',
  area: 'M5 8l7-5l7 5l-3 11H8z',
  query: 'M17 5H7l5 7l-5 7h10',
  export: 'M12 4v11M7 10l5 5l5-5M5 20h14',
  print: 'M7 9V3h10v6M7 17H4v-7h16v7h-3M7 14h10v7H7z',
};

export function icon(name: keyof typeof paths): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '20');
  svg.setAttribute('height', '20');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'icon');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', paths[name]!);
  svg.append(path);
  return svg;
}
