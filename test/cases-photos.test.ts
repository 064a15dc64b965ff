// Case photos as phones send them (fixtures in test/fixtures/photos, made by make.ts there): EXIF orientation
// applied, GPS read, metadata stripped, display ≤ 1600 px and thumb ≤ 320 px, the original kept and stored once
// by content hash; a renamed text file, HEIC, an oversize file and a pixel bomb refused with 4xx and nothing stored.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { startCaseWorld, type CaseWorld } from './helpers/cases.ts';
import { binary, fixturesDir } from './helpers/platform.ts';

let w: CaseWorld;
const fixture = (name: string) => readFile(path.join(fixturesDir, 'photos', name));
test.before(async () => {
  w = await startCaseWorld({ PHOTO_MAX_MB: '1' });
});
test.after.always(async () => {
  await w?.p.close();
});

const auth = (role: string) => `Bearer ${w.keys[role]!.key}`;
async function reportWith(files: Array<[Buffer, string]>, n: number) {
  const at = await w.placeIn('320812', n);
  let req = w.p.http.post('/api/cases').set('Authorization', auth('inspector')).field('category', 'SJ0102').field('lon', String(at.lon)).field('lat', String(at.lat));
  for (const [data, name] of files) req = req.attach('photo', data, name);
  return req;
}
const getBytes = (url: string, role = 'reader') => w.p.http.get(url).set('Authorization', auth(role)).buffer(true).parse(binary);
const count = async () => (await w.p.sql.query(`SELECT (SELECT count(*) FROM cases.cases)::int AS cases, (SELECT count(*) FROM cases.photos)::int AS photos`)).rows[0];

test('a rotated JPEG is shown upright, without its metadata; the original is kept byte for byte', async (t) => {
  const original = await fixture('rotated-gps.jpg');
  const r = await reportWith([[original, 'IMG_0001.jpg']], 1);
  t.is(r.status, 201, JSON.stringify(r.body));
  const sheet = (await w.p.http.get(`/api/cases/${r.body.code}`).set('Authorization', auth('reader'))).body;
  const hash = createHash('sha256').update(original).digest('hex');
  t.like(sheet.photos[0], { hash, phase: '上报', width: 300, height: 600 });

  const display = await getBytes(sheet.photos[0].display);
  t.is(display.headers['content-type'], 'image/jpeg');
  const meta = await sharp(display.body).metadata();
  t.is(meta.width, 300);
  t.is(meta.height, 600);
  t.is(meta.exif, undefined, 'no EXIF left (camera, owner, place)');
  t.true((meta.orientation ?? 1) === 1);
  // Stored left half red → upright top half red.
  const top = await sharp(display.body).extract({ left: 150, top: 20, width: 1, height: 1 }).raw().toBuffer();
  const bottom = await sharp(display.body).extract({ left: 150, top: 580, width: 1, height: 1 }).raw().toBuffer();
  t.true(top[0]! > 200 && top[2]! < 60, `top ${[...top]}`);
  t.true(bottom[2]! > 200 && bottom[0]! < 60, `bottom ${[...bottom]}`);

  const thumb = await sharp((await getBytes(sheet.photos[0].thumb)).body).metadata();
  t.deepEqual([thumb.width, thumb.height], [160, 320]);
  const kept = await getBytes(`/api/cases/photos/${hash}/original`);
  t.true(kept.body.equals(original));
  t.is(kept.headers['content-type'], 'image/jpeg');
});

test('a large photo gets a 1600 px display size and a 320 px thumbnail; the same photo twice is stored once', async (t) => {
  const big = await sharp({ create: { width: 2400, height: 1800, channels: 3, background: '#336699' } }).jpeg({ quality: 80 }).toBuffer();
  const a = await reportWith([[big, 'big.jpg']], 2);
  const b = await reportWith([[big, 'big-again.jpg'], [await fixture('plain.png'), 'plain.png']], 3);
  t.is(a.status, 201);
  t.is(b.status, 201);
  const hash = createHash('sha256').update(big).digest('hex');
  const display = await sharp((await getBytes(`/api/cases/photos/${hash}/display`)).body).metadata();
  const thumb = await sharp((await getBytes(`/api/cases/photos/${hash}/thumb`)).body).metadata();
  t.deepEqual([display.width, display.height], [1600, 1200]);
  t.deepEqual([thumb.width, thumb.height], [320, 240]);
  const rows = await w.p.sql.query(`SELECT count(*)::int AS n FROM cases.photos WHERE hash = $1`, [hash]);
  t.is(rows.rows[0].n, 1);
  const links = await w.p.sql.query(`SELECT count(*)::int AS n FROM cases.case_photos WHERE hash = $1`, [hash]);
  t.is(links.rows[0].n, 2);
  const png = (await w.p.http.get(`/api/cases/${b.body.code}`).set('Authorization', auth('reader'))).body.photos;
  t.is(png.length, 2);
});

test.serial('refused photos: a renamed text file 415, HEIC 415 with a clear message, a pixel bomb 413, an oversize file 413; nothing is stored', async (t) => {
  const before = await count();
  const refuse = async (data: Buffer, name: string, status: number, error: RegExp, n: number) => {
    const r = await reportWith([[await fixture('plain.png'), 'ok.png'], [data, name]], n);
    t.is(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
    t.regex(r.body.error, error);
    return r.body.message as string;
  };
  t.regex(await refuse(await fixture('not-a-photo.jpg'), 'not-a-photo.jpg', 415, /^not_an_image$/, 4), /not-a-photo\.jpg is not an image/);
  t.regex(await refuse(await fixture('iphone.heic'), 'iphone.heic', 415, /^heic_unsupported$/, 5), /HEIC.*JPEG/);
  t.regex(await refuse(await fixture('bomb.png'), 'bomb.png', 413, /^photo_too_many_pixels$/, 6), /30000×30000/);
  // Seeded noise does not compress: 1000×1000 at quality 100 is well over PHOTO_MAX_MB=1.
  let seed = 7;
  const noise = Buffer.alloc(1000 * 1000 * 3, 0).map(() => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24) & 255);
  const oversize = await sharp(noise, { raw: { width: 1000, height: 1000, channels: 3 } }).jpeg({ quality: 100 }).toBuffer();
  t.true(oversize.length > 2 ** 20);
  t.regex(await refuse(oversize, 'huge.jpg', 413, /^photo_too_large$/, 7), /PHOTO_MAX_MB/);
  t.deepEqual(await count(), before, 'no case and no photo written by a refused report');
  // The platform still answers.
  t.is((await reportWith([[await fixture('plain.png'), 'ok.png']], 8)).status, 201);
});

test('photos are not public: anonymous and unrelated keys get 404, the reporter and the desk get them', async (t) => {
  const png = await fixture('plain.png');
  const r = await reportWith([[png, 'x.png']], 9);
  const hash = createHash('sha256').update(png).digest('hex');
  t.is((await w.p.http.get(`/api/cases/photos/${hash}/thumb`)).status, 404);
  t.is((await w.p.http.get(`/api/cases/photos/${hash}/thumb`).set('Authorization', auth('inspector2'))).status, 404);
  t.is((await getBytes(`/api/cases/photos/${hash}/thumb`, 'inspector')).status, 200);
  t.is((await getBytes(`/api/cases/photos/${hash}/original`, 'reader')).status, 200);
  t.is((await w.p.http.get(`/api/cases/photos/${hash}/huge`).set('Authorization', auth('reader'))).status, 404);
  t.truthy(r.body.code);
});
