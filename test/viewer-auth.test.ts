// Signing in, the first password change, the admin page by role, sign-out and an expired session, in Chromium
// on a desktop and a phone.
import test from 'ava';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ensureViewerBuilt, launchChromium, listen, screenshot } from './helpers/browser.ts';
import { createUser, GOOD_PASSWORD } from './helpers/identity.ts';
import { startTestPlatform, type TestPlatform } from './helpers/platform.ts';

let p: TestPlatform;
let server: Awaited<ReturnType<typeof listen>>;
let browser: Browser;

test.before(async () => {
  await ensureViewerBuilt();
  p = await startTestPlatform();
  server = await listen(p.platform.app);
  browser = await launchChromium();
});
test.after.always(async () => {
  await browser?.close();
  await server?.close();
  await p?.close();
});

interface Opened {
  context: BrowserContext;
  page: Page;
  errors: string[];
  foreign: string[];
}

async function open(path: string, viewport = { width: 1280, height: 800 }): Promise<Opened> {
  const context = await browser.newContext({ viewport, locale: 'zh-CN', hasTouch: viewport.width < 600 });
  const page = await context.newPage();
  const opened: Opened = { context, page, errors: [], foreign: [] };
  page.on('pageerror', (e) => void opened.errors.push(e.message));
  page.on('request', (r) => {
    if (!r.url().startsWith(server.url) && !r.url().startsWith('data:')) opened.foreign.push(r.url());
  });
  await page.goto(`${server.url}${path}`);
  return opened;
}

/** The first sign-in as a person does it: the one-time password, then the forced change. */
async function firstSignIn(page: Page, login: string, oneTime: string): Promise<void> {
  await page.fill('#login', login);
  await page.fill('#password', oneTime);
  await page.click('button[type=submit]');
  await page.waitForSelector('#new-password');
  await page.fill('#new-password', GOOD_PASSWORD);
  await page.fill('#repeat-password', GOOD_PASSWORD);
  await page.click('button[type=submit]');
}

test.serial('sign in with a one-time password, change it, land on the map signed in; the admin page as admin', async (t) => {
  const { password } = await createUser(p, 'web.admin', { roles: ['admin'] });
  const o = await open('/login?next=admin');
  t.is(await o.page.title(), '登录 · CityBase 淮安市 GIS 公共平台');
  await o.page.fill('#login', 'web.admin');
  await o.page.fill('#password', 'Wrong-pass-1');
  await o.page.click('button[type=submit]');
  await o.page.waitForSelector('[role=alert]:has-text("wrong login or password")');
  await o.page.fill('#password', password);
  await o.page.click('button[type=submit]');
  await o.page.waitForSelector('#new-password');
  t.regex((await o.page.textContent('#policy'))!, /至少 8 位/);
  await o.page.fill('#new-password', 'abcdefgh1');
  await o.page.fill('#repeat-password', 'abcdefgh1');
  await o.page.click('button[type=submit]');
  await o.page.waitForSelector('[role=alert]:has-text("3 of")');
  await o.page.fill('#new-password', GOOD_PASSWORD);
  await o.page.fill('#repeat-password', GOOD_PASSWORD);
  await o.page.click('button[type=submit]');
  await o.page.waitForURL(/\/admin$/);
  await o.page.waitForSelector('table td:has-text("web.admin")');
  await screenshot(o.page, 'admin-users');
  // Create an inspector from the page: the one-time password is shown once.
  await o.page.fill('#new-login', 'web.inspector');
  await o.page.fill('#new-dept', 'cgj');
  await o.page.fill('#new-roles', 'inspector');
  await o.page.click('fieldset button[type=submit]');
  const oneTime = (await o.page.waitForSelector('#one-time')).textContent();
  t.regex((await oneTime)!, /^\S{16}$/);
  t.truthy(await o.page.$('td:has-text("web.inspector")'));
  // Cookies: the session is HttpOnly, so the page's scripts cannot read it.
  t.is(await o.page.evaluate(() => document.cookie), '');
  const cookies = await o.context.cookies();
  t.true(cookies.find((c) => c.name === 'cb_session')!.httpOnly);
  t.deepEqual(o.errors, []);
  t.deepEqual(o.foreign, [], 'nothing is loaded from another host');
  await o.context.close();
});

test.serial('a viewer signs in and is refused the admin page; signs out from the map', async (t) => {
  const { password } = await createUser(p, 'web.viewer', { roles: ['viewer'] });
  const o = await open('/login');
  await firstSignIn(o.page, 'web.viewer', password);
  await o.page.waitForURL(`${server.url}/`);
  await o.page.waitForSelector('#account:has-text("web.viewer")');
  t.falsy(await o.page.$('#admin-link'), 'no admin link for a viewer');
  await o.page.goto(`${server.url}/admin`);
  await o.page.waitForSelector('#no-right');
  await o.page.goto(`${server.url}/`);
  await o.page.click('#sign-out');
  await o.page.waitForSelector('#sign-in-link');
  const me = await o.page.evaluate(async () => (await fetch('api/session')).json());
  t.is(me.kind, 'anonymous');
  t.deepEqual(o.errors, []);
  await o.context.close();
});

test.serial('an expired session sends the admin page back to sign-in', async (t) => {
  const { password } = await createUser(p, 'web.sec', { roles: ['security_admin'] });
  const o = await open('/login?next=admin');
  await firstSignIn(o.page, 'web.sec', password);
  await o.page.waitForURL(/\/admin$/);
  await o.page.waitForSelector('table');
  await p.sql.query(`UPDATE citybase.sessions SET revoked_at = now(), ended_reason = 'test' FROM citybase.users u WHERE u.id = user_id AND u.login = 'web.sec'`);
  await o.page.reload();
  await o.page.waitForSelector('#login', { timeout: 10_000 }).catch(async () => {
    throw new Error(`still at ${o.page.url()}: ${(await o.page.textContent('body'))?.slice(0, 300)}`);
  });
  t.regex(o.page.url(), /\/login\?next=admin$/);
  t.truthy(await o.page.$('#login'));
  await o.context.close();
});

test.serial('on a phone: the sign-in form fits, its controls are at least 44 px, and the auditor sees the trail', async (t) => {
  const { password } = await createUser(p, 'web.auditor', { roles: ['auditor'] });
  const o = await open('/login?next=admin', { width: 390, height: 844 });
  const sizes = await o.page.$$eval('input, button', (els) => els.filter((e) => (e as HTMLElement).offsetParent).map((e) => e.getBoundingClientRect().height));
  t.true(sizes.every((hgt) => hgt >= 44), `heights ${sizes.join(', ')}`);
  const width = await o.page.evaluate(() => document.documentElement.scrollWidth);
  t.true(width <= 390, 'no horizontal scrolling');
  await firstSignIn(o.page, 'web.auditor', password);
  await o.page.waitForURL(/\/admin$/);
  await o.page.waitForSelector('#audit-table td:has-text("session.sign_in")');
  const tabs = await o.page.$$eval('[role=tab]', (els) => els.map((e) => e.textContent));
  t.deepEqual(tabs, ['审计日志'], 'the auditor has the trail and nothing else');
  await screenshot(o.page, 'admin-audit-phone');
  await o.context.close();
});
