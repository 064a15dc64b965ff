// The whole loop in Chromium, each step by the role it belongs to, on the page that role uses: the inspector
// reports from the phone page (phone size, touch, GPS, a photo); the acceptor files it and the dispatcher sends it
// on at the desk (desktop); the department's handler takes it and finishes it with an after-photo and a note;
// the inspector, back on the phone, finds the 核查 task and passes it; the case is closed, its timeline names
// every actor, and the photos of each phase are kept.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type { Browser, Page } from 'playwright-core';
import { ensureViewerBuilt, launchChromium, listen } from './helpers/browser.ts';
import { startCaseWorld, type CaseWorld } from './helpers/cases.ts';
import { fixturesDir } from './helpers/platform.ts';

let w: CaseWorld;
let browser: Browser;
let server: { url: string; close(): Promise<void> };
let jpeg: Buffer;
let png: Buffer;
test.before(async () => {
  await ensureViewerBuilt();
  w = await startCaseWorld();
  server = await listen(w.p.platform.app);
  browser = await launchChromium();
  jpeg = await readFile(path.join(fixturesDir, 'photos', 'rotated-gps.jpg'));
  png = await readFile(path.join(fixturesDir, 'photos', 'plain.png'));
});
test.after.always(async () => {
  await browser?.close();
  await server?.close();
  await w?.p.close();
});

const errors: string[] = [];
function watch(page: Page, who: string) {
  page.on('pageerror', (e) => errors.push(`${who}: ${e.message}`));
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(server.url) && !/^(data|blob):/.test(u)) errors.push(`${who}: request to another host ${u}`);
  });
}

/** The desk as one role (its API key), with the case's sheet open. */
async function deskWithCase(role: string, code: string): Promise<{ page: Page; close(): Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'zh-CN' });
  const page = await context.newPage();
  watch(page, role);
  await page.goto(`${server.url}/cases/?key=${w.keys[role]!.key}`);
  const row = page.locator(`tr[data-code="${code}"]`);
  await row.waitFor({ timeout: 30_000 });
  await row.click();
  await page.waitForFunction((c) => document.getElementById('sheet')!.dataset.code === c, code);
  return { page, close: () => context.close() };
}
async function press(page: Page, action: string, expected: string) {
  await page.click(`#actions button[data-action="${action}"]`);
  await page.waitForFunction((e) => document.getElementById('action-status')!.textContent === e, expected, { timeout: 15_000 }).catch(async () => {
    throw new Error(`${action}: the desk says "${await page.textContent('#action-status')}"`);
  });
}

test('report on the phone → file and dispatch at the desk → handle with an after-photo → 核查 on the phone → closed', async (t) => {
  const at = await w.placeIn('320812', 80);
  // 1. The inspector, in the street, on the phone page.
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
    geolocation: { longitude: at.lon, latitude: at.lat, accuracy: 5 },
    permissions: ['geolocation'],
  });
  const m = await phone.newPage();
  watch(m, 'inspector');
  await m.goto(`${server.url}/m/?key=${w.keys.inspector!.key}`);
  await m.waitForFunction(() => document.querySelectorAll('#category option').length > 50);
  await m.fill('#category-search', '暴露垃圾');
  await m.tap('#gps');
  await m.waitForFunction(() => (document.getElementById('lon') as HTMLInputElement).value !== '');
  await m.setInputFiles('#photos', [{ name: 'before.jpg', mimeType: 'image/jpeg', buffer: jpeg }]);
  await m.fill('#description', '全流程: 桥下暴露垃圾');
  await m.tap('#submit');
  await m.waitForFunction(() => /^已上报 320800/.test(document.getElementById('report-status')!.textContent!), undefined, { timeout: 30_000 });
  const code = (await m.textContent('#report-status'))!.match(/320800\d+/)![0];
  t.like((await w.p.http.get(`/api/cases/${code}`).set('Authorization', `Bearer ${w.keys.reader!.key}`)).body, { state: 'reported', description: '全流程: 桥下暴露垃圾' });

  // 2. The centre: the acceptor files it (立案), the dispatcher sends it to the routed department (派遣).
  const acceptor = await deskWithCase('acceptor', code);
  t.false(await acceptor.page.locator('#actions button[data-action="take"]').isVisible(), 'a reported case offers no 处置');
  await press(acceptor.page, 'accept', '立案: accepted');
  await acceptor.close();
  const dispatcher = await deskWithCase('dispatcher', code);
  await press(dispatcher.page, 'dispatch', '派遣: dispatched');
  // The desk offers the next step, but the server decides who may: 接收处置 is the department's, not the dispatcher's.
  await dispatcher.page.click('#actions button[data-action="take"]');
  await dispatcher.page.waitForFunction(() => /^403: .*case:handle/.test(document.getElementById('action-status')!.textContent!));
  await dispatcher.close();

  // 3. The department's handler (cgj, the routed department) takes it and finishes it with an after-photo.
  const handler = await deskWithCase('handler', code);
  await press(handler.page, 'take', '接收处置: handling');
  await handler.page.fill('#note', '已清运, 现场恢复整洁');
  await handler.page.setInputFiles('#act-photos', [{ name: 'after.png', mimeType: 'image/png', buffer: png }]);
  await press(handler.page, 'finish', '处置完成: checking');
  await handler.page.waitForFunction(() => document.querySelectorAll('#photos img').length === 2);
  await handler.close();

  // 4. The inspector (the reporter gets the 核查 task) finds it under 我的任务 and passes it with a photo.
  await m.tap('#refresh');
  const task = m.locator(`#tasks li[data-code="${code}"]`);
  await task.waitFor({ timeout: 30_000 });
  t.is(await task.getAttribute('data-state'), 'checking');
  t.regex((await task.locator('a').getAttribute('href'))!, /^geo:/);
  await task.locator('input.task-photo').setInputFiles([{ name: 'check.jpg', mimeType: 'image/jpeg', buffer: jpeg }]);
  await task.locator('button[data-action="check_pass"]').tap();
  await m.waitForFunction((c) => !document.querySelector(`#tasks li[data-code="${c}"]`), code, { timeout: 30_000 });
  await m.waitForFunction((c) => /结案/.test(document.querySelector(`#mine li[data-code="${c}"]`)?.textContent ?? ''), code, { timeout: 30_000 });
  await phone.close();

  // 5. Closed; each step by its own actor; the photos of each phase kept.
  const sheet = (await w.p.http.get(`/api/cases/${code}`).set('Authorization', `Bearer ${w.keys.reader!.key}`)).body;
  t.is(sheet.state, 'closed');
  const actor = (role: string) => `key:${w.keys[role]!.id}`;
  t.deepEqual(
    sheet.timeline.map((e: { action: string; actor: string }) => [e.action, e.actor]),
    [
      ['report', actor('inspector')],
      ['accept', actor('acceptor')],
      ['dispatch', actor('dispatcher')],
      ['take', actor('handler')],
      ['finish', actor('handler')],
      ['check_pass', actor('inspector')],
    ],
  );
  t.is(sheet.timeline[4].note, '已清运, 现场恢复整洁');
  t.deepEqual(sheet.photos.map((p: { phase: string }) => p.phase), ['上报', '处置', '核查']);
  t.deepEqual(errors, []);
});
