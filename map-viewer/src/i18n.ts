/**
 * The viewer's words in Chinese (the default: planners read Chinese first) and English. The choice is kept in
 * localStorage, so a planner who switched to English finds English again next time.
 */
export type Lang = 'zh' | 'en';

const zh = {
  appTitle: 'CityBase 淮安市 GIS 公共平台',
  appShort: '淮安市 GIS',
  switchLang: 'English',
  switchLangLabel: '切换到英文界面',
  layers: '图层',
  showPanel: '显示图层面板',
  hidePanel: '隐藏图层面板',
  opacity: '透明度',
  legend: '图例',
  themeAll: '全部',
  noLayers: '没有可显示的图层',
  loadFailed: '无法加载图层目录：',
  search: '搜索地名、街道、要素',
  searchLabel: '搜索',
  searchNone: '没有找到',
  searchHint: '输入名称后按回车',
  tools: '工具',
  measureDistance: '测距',
  measureArea: '测面积',
  drawQuery: '框选统计',
  exportPng: '导出图片',
  finish: '完成',
  undo: '撤销',
  cancel: '取消',
  close: '关闭',
  distance: '距离',
  area: '面积',
  perimeter: '周长',
  hectares: '公顷',
  toolHintLine: '在地图上单击添加点，双击或按回车结束；空格键在地图中心加点，退格撤销，Esc 取消。',
  toolHintPolygon: '单击添加顶点（至少 3 个），双击或按回车结束；空格键在地图中心加点，退格撤销，Esc 取消。',
  queryTitle: '框选统计',
  queryLayer: '图层',
  queryCount: '数量',
  querySums: '合计',
  queryNoLayers: '请先打开要统计的图层。',
  queryApprox: '服务端统计接口尚不可用：结果按当前地图上已显示的要素统计，可能不完整。',
  querying: '统计中…',
  queryFailed: '统计失败：',
  identifyNone: '此处没有要素',
  yes: '是',
  no: '否',
  identifyApprox: '按地图上显示的要素识别',
  previous: '上一个',
  next: '下一个',
  featureOf: (i: number, n: number) => `第 ${i} / ${n} 个`,
  aqiChart: '最近 72 小时 AQI',
  aqiNone: '暂无 AQI 数据',
  coordinates: '坐标',
  cgcs2000: 'CGCS2000 / 3° 高斯-克吕格 CM 120E（EPSG:4549）',
  east: '东',
  north: '北',
  exporting: '正在导出…',
  /** MapLibre's own control words (its `locale` option; the same keys). */
  maplibre: {
    'Map.Title': '地图',
    'NavigationControl.ZoomIn': '放大',
    'NavigationControl.ZoomOut': '缩小',
    'NavigationControl.ResetBearing': '拖动旋转地图，单击恢复正北',
    'Popup.Close': '关闭',
    'AttributionControl.ToggleAttribution': '显示或隐藏数据来源',
  } as Record<string, string>,
  themes: {
    urban: '城市管理',
    planning: '规划',
    civil_defence: '人防',
    environment: '环保',
    vehicles: '车辆',
    basemap: '底图',
    contrib: '共享数据',
  } as Record<string, string>,
};

type Words = typeof zh;

const en: Words = {
  appTitle: 'CityBase · Huai’an GIS platform',
  appShort: 'Huai’an GIS',
  switchLang: '中文',
  switchLangLabel: 'Switch to Chinese',
  layers: 'Layers',
  showPanel: 'Show the layer panel',
  hidePanel: 'Hide the layer panel',
  opacity: 'Opacity',
  legend: 'Legend',
  themeAll: 'All',
  noLayers: 'No layers to show',
  loadFailed: 'Cannot load the layer catalog: ',
  search: 'Search places, streets, features',
  searchLabel: 'Search',
  searchNone: 'Nothing found',
  searchHint: 'Type a name and press Enter',
  tools: 'Tools',
  measureDistance: 'Distance',
  measureArea: 'Area',
  drawQuery: 'Area statistics',
  exportPng: 'Export PNG',
  finish: 'Finish',
  undo: 'Undo',
  cancel: 'Cancel',
  close: 'Close',
  distance: 'Distance',
  area: 'Area',
  perimeter: 'Perimeter',
  hectares: 'ha',
  toolHintLine: 'Click to add points; double-click or Enter to finish. Space adds the map centre, Backspace undoes, Esc cancels.',
  toolHintPolygon: 'Click to add corners (3 or more); double-click or Enter to finish. Space adds the map centre, Backspace undoes, Esc cancels.',
  queryTitle: 'Area statistics',
  queryLayer: 'Layer',
  queryCount: 'Count',
  querySums: 'Totals',
  queryNoLayers: 'Switch on the layers to count first.',
  queryApprox: 'The server’s query API is not available yet: counted from the features drawn on the map, which may be incomplete.',
  querying: 'Counting…',
  queryFailed: 'Query failed: ',
  identifyNone: 'No features here',
  yes: 'yes',
  no: 'no',
  identifyApprox: 'Identified from the features drawn on the map',
  previous: 'Previous',
  next: 'Next',
  featureOf: (i: number, n: number) => `${i} of ${n}`,
  aqiChart: 'AQI, last 72 hours',
  aqiNone: 'No AQI readings',
  coordinates: 'Coordinates',
  cgcs2000: 'CGCS2000 / 3-degree GK CM 120E (EPSG:4549)',
  east: 'E',
  north: 'N',
  exporting: 'Exporting…',
  maplibre: {
    'Map.Title': 'Map',
    'NavigationControl.ZoomIn': 'Zoom in',
    'NavigationControl.ZoomOut': 'Zoom out',
    'NavigationControl.ResetBearing': 'Drag to rotate map, click to reset north',
    'Popup.Close': 'Close popup',
    'AttributionControl.ToggleAttribution': 'Toggle attribution',
  },
  themes: {
    urban: 'Urban management',
    planning: 'Planning',
    civil_defence: 'Civil defence',
    environment: 'Environment',
    vehicles: 'Vehicles',
    basemap: 'Base map',
    contrib: 'Shared data',
  },
};

const STORAGE_KEY = 'citybase.lang';
const words: Record<Lang, Words> = { zh, en };
const listeners = new Set<() => void>();

function stored(): Lang {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'zh';
  } catch {
    return 'zh'; // storage can be disabled by policy; Chinese is the default anyway
  }
}

let current: Lang = stored();

/** The current language. */
export const lang = (): Lang => current;

/** The words of the current language. */
export const t = (): Words => words[current];

/** A `{ zh, en }` text in the current language. */
export const local = (text: { zh: string; en: string } | undefined): string => (text ? text[current] || text.zh : '');

/** Switch language, remember it, and let every part of the UI redraw its words. */
export function setLang(next: Lang): void {
  current = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    /* not remembered, still switched */
  }
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
  document.title = t().appTitle;
  for (const f of listeners) f();
}

/** Run `render` now and again whenever the language changes. */
export function onLang(render: () => void): void {
  listeners.add(render);
  render();
}

document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
