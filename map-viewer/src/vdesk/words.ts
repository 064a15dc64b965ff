/** The vehicle desk's words: Chinese first (the operators read Chinese), English beside. */
export type Lang = 'zh' | 'en';

const zh = {
  title: '重点车辆监控',
  switchLang: 'English',
  signInNeeded: '请先登录：车辆监控台只对有车辆监控权限的工作人员开放。',
  signIn: '登录',
  noRight: '您的账号没有车辆监控权限（vehicle:watch），请联系管理员。',
  signOut: '退出',
  fleet: '车辆',
  alarms: '报警',
  search: '车牌、企业、分组',
  allTypes: '全部类型',
  allGroups: '全部分组',
  allStates: '全部状态',
  online: '在线',
  offline: '离线',
  unknown: '未知',
  alarm: '报警',
  live: '实时连接',
  reconnecting: '正在重新连接…',
  noVehicles: '没有符合条件的车辆',
  noAlarms: '没有未处理的报警',
  acknowledge: '确认',
  close: '关闭',
  note: '处理说明',
  acknowledged: '已确认',
  raised: '未处理',
  closed: '已关闭',
  sound: '报警声音',
  repeats: '次',
  detail: '车辆详情',
  plate: '车牌',
  type: '类型',
  company: '企业',
  group: '分组',
  district: '区县',
  status: '状态',
  speed: '速度',
  heading: '方向',
  fixTime: '定位时间',
  position: '位置',
  follow: '跟随',
  unfollow: '取消跟随',
  playback: '轨迹回放',
  from: '开始',
  to: '结束',
  load: '查询',
  play: '播放',
  pause: '暂停',
  rate: '倍速',
  stops: '停车',
  distance: '里程',
  fixes: '定位点',
  exit: '退出回放',
  noTrack: '该时段没有轨迹',
  km: '公里',
  kmh: '公里/小时',
  minutes: '分钟',
  loading: '正在加载…',
  reports: '报表',
  reportFrom: '开始日期',
  reportTo: '结束日期',
  connectionRate: '入网率',
  onlineRate: '上线率',
  dataRate: '数据合格率',
  overspeedPer: '平均超速次数',
  fatigueAlarms: '疲劳驾驶报警',
  mileageKm: '里程(公里)',
  speedChart: '速度曲线',
  trip: '行驶',
  stop: '停车',
};
type Words = typeof zh;

const en: Words = {
  title: 'Key vehicle monitoring',
  switchLang: '中文',
  signInNeeded: 'Please sign in: the vehicle desk is open to staff with the vehicle monitoring right only.',
  signIn: 'Sign in',
  noRight: 'Your account lacks the vehicle monitoring right (vehicle:watch); ask an administrator.',
  signOut: 'Sign out',
  fleet: 'Vehicles',
  alarms: 'Alarms',
  search: 'Plate, company, group',
  allTypes: 'All types',
  allGroups: 'All groups',
  allStates: 'All states',
  online: 'Online',
  offline: 'Offline',
  unknown: 'Unknown',
  alarm: 'Alarm',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  noVehicles: 'No vehicle matches',
  noAlarms: 'No open alarms',
  acknowledge: 'Acknowledge',
  close: 'Close',
  note: 'Note',
  acknowledged: 'Acknowledged',
  raised: 'Open',
  closed: 'Closed',
  sound: 'Alarm sound',
  repeats: '×',
  detail: 'Vehicle',
  plate: 'Plate',
  type: 'Type',
  company: 'Company',
  group: 'Group',
  district: 'District',
  status: 'Status',
  speed: 'Speed',
  heading: 'Heading',
  fixTime: 'Fix time',
  position: 'Position',
  follow: 'Follow',
  unfollow: 'Stop following',
  playback: 'Playback',
  from: 'From',
  to: 'To',
  load: 'Load',
  play: 'Play',
  pause: 'Pause',
  rate: 'Speed',
  stops: 'Stops',
  distance: 'Distance',
  fixes: 'Fixes',
  exit: 'Leave playback',
  noTrack: 'No track in this period',
  km: 'km',
  kmh: 'km/h',
  minutes: 'min',
  loading: 'Loading…',
  reports: 'Reports',
  reportFrom: 'From day',
  reportTo: 'To day',
  connectionRate: 'Connection rate',
  onlineRate: 'Online rate',
  dataRate: 'Data qualified rate',
  overspeedPer: 'Overspeeds per vehicle',
  fatigueAlarms: 'Fatigue alarms',
  mileageKm: 'Distance (km)',
  speedChart: 'Speed over time',
  trip: 'Trip',
  stop: 'Stop',
};

export const vehicleTypeNames: Record<string, { zh: string; en: string }> = {
  muck_truck: { zh: '渣土车', en: 'Muck truck' },
  dangerous_goods: { zh: '危化品车', en: 'Dangerous goods' },
  school_bus: { zh: '校车', en: 'School bus' },
  bus: { zh: '公交', en: 'Bus' },
  taxi: { zh: '出租车', en: 'Taxi' },
  other: { zh: '其他', en: 'Other' },
};

export const alarmTypeNames: Record<string, { zh: string; en: string }> = {
  fence_no_entry: { zh: '驶入禁行区', en: 'Entered a no-entry zone' },
  overspeed: { zh: '超速', en: 'Overspeed' },
  route_deviation: { zh: '偏离路线', en: 'Route deviation' },
  offline: { zh: '离线', en: 'Offline' },
  fatigue_driving: { zh: '疲劳驾驶', en: 'Fatigue driving' },
  stop_outside_area: { zh: '违规停车', en: 'Stopped outside allowed places' },
  terminal_emergency: { zh: '紧急报警', en: 'Emergency' },
  terminal_fatigue: { zh: '终端疲劳驾驶', en: 'Fatigue (terminal)' },
  terminal_danger: { zh: '危险预警', en: 'Danger warning' },
  terminal_driving_time: { zh: '当天累计驾驶超时', en: 'Daily driving time exceeded' },
  terminal_overtime_parking: { zh: '超时停车', en: 'Overtime parking' },
  terminal_stolen: { zh: '车辆被盗', en: 'Vehicle stolen' },
  terminal_illegal_ignition: { zh: '非法点火', en: 'Illegal ignition' },
  terminal_illegal_displacement: { zh: '非法位移', en: 'Illegal displacement' },
  terminal_collision: { zh: '碰撞预警', en: 'Collision' },
  terminal_rollover: { zh: '侧翻预警', en: 'Rollover' },
};

const STORAGE_KEY = 'citybase.lang';
let current: Lang = (() => {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'zh';
  } catch {
    return 'zh';
  }
})();

export const lang = (): Lang => current;
export const w = (): Words => (current === 'zh' ? zh : en);
export const named = (table: Record<string, { zh: string; en: string }>, key: string): string => table[key]?.[current] ?? key;

export function setLang(next: Lang): void {
  current = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    /* switched, not remembered */
  }
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
}
document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
