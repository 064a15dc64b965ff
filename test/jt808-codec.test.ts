import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { Deframer, FrameError, decodeFrame, encodeFrame, escape, unescape } from '../tile-server/src/vehicles/jt808/frame.ts';
import {
  BodyError,
  MSG,
  decodeAuthenticate,
  decodeBatch,
  decodeGeneralReply,
  decodeLocation,
  decodeRegister,
  encodeAuthenticate,
  encodeBatch,
  encodeGeneralReply,
  encodeLocation,
  encodeRegister,
  encodeResendRequest,
} from '../tile-server/src/vehicles/jt808/messages.ts';
import { Subpackages } from '../tile-server/src/vehicles/jt808/subpackages.ts';
import { fixturesDir } from './helpers/platform.ts';

interface Vectors {
  escape: { payload: string; wire: string };
  location2013Shenzhen: string;
  location2013Items: string;
  batch2019: string;
  authenticate2013: string;
  heartbeat2013: string;
  register2013: string;
  pair2013: string;
  pair2019: string;
  reply2013: string;
  reply2019: string;
}
const v = JSON.parse(readFileSync(path.join(fixturesDir, 'jt808', 'vectors.json'), 'utf8')) as Vectors;
const wire = (hex: string) => Buffer.from(hex, 'hex');
/** The bytes between the two flags, as the deframer hands them over. */
const inner = (hex: string) => wire(hex).subarray(1, -1);
const iso = (t: number) => new Date(t).toISOString();

test('escaping: 7e → 7d 02 and 7d → 7d 01, and back (§2.1 vector)', (t) => {
  const payload = wire(v.escape.payload);
  t.is(Buffer.concat([Buffer.of(0x7e), escape(payload), Buffer.of(0x7e)]).toString('hex'), v.escape.wire);
  t.deepEqual(unescape(inner(v.escape.wire)), payload);
  t.throws(() => unescape(Buffer.from('307d03', 'hex')), { instanceOf: FrameError, message: /bad escape 7d 03/ });
});

test('0x0200 2013 from a real device: header, position, time in GMT+8, raw item, checksum', (t) => {
  const f = decodeFrame(inner(v.location2013Shenzhen));
  t.like(f.header, { id: 0x0200, version: 2013, phoneBcd: '012076463279', phone: '12076463279', serial: 64, packet: null });
  t.is(f.body.length, 31);
  const l = decodeLocation(f.body);
  t.like(l, { alarm: 0, status: 0x6002, lat: 22.837943, lon: 114.426985, altitudeM: 59, speedKmh: 0, course: 0 });
  t.is(iso(l.time), '2025-04-02T08:36:26.000Z');
  t.deepEqual(l.raw, { '06': '3e' });
  // Byte for byte: the same header and body encode to the same frame, checksum 0x6b included.
  t.is(encodeFrame(f.header, f.body).toString('hex'), v.location2013Shenzhen);
});

test('0x0200 2013 with mileage, recorder speed and a vendor item kept raw', (t) => {
  const f = decodeFrame(inner(v.location2013Items));
  t.like(f.header, { phone: '13578888888', serial: 182 });
  const l = decodeLocation(f.body);
  t.like(l, { status: 3, lat: 22.639284, lon: 114.030264, altitudeM: 547, course: 1, mileageKm: 0, recorderSpeedKmh: 0 });
  t.is(iso(l.time), '2016-06-13T09:57:13.000Z');
  t.deepEqual(l.raw, { eb: '00050001016708' });
  t.is(encodeFrame(f.header, f.body).toString('hex'), v.location2013Items.toLowerCase());
});

test('0x0704 with a 2019 header: version byte, BCD[10] phone, southern hemisphere, satellites', (t) => {
  const f = decodeFrame(inner(v.batch2019));
  t.like(f.header, { id: 0x0704, version: 2019, protocolVersion: 1, phoneBcd: '00000866496077582164', phone: '866496077582164', serial: 0x881d });
  const b = decodeBatch(f.body);
  t.is(b.type, 0);
  t.is(b.items.length, 1);
  t.like(b.items[0], { status: 7, lat: -27.263378, lon: 153.037383, altitudeM: 22, mileageKm: 960.2, signal: 0, satellites: 14 });
  // Item 0x01 is 0x00002582 = 9602 tenths of a km: the reference's "959.4 km" is a slip (0x257a would be).
  t.is(iso(b.items[0]!.time), '2026-05-09T08:42:27.000Z');
  t.is(encodeFrame(f.header, f.body).toString('hex'), v.batch2019);
});

test('0x0102 2013: the code fills the body; the 2019 body round-trips', (t) => {
  const f = decodeFrame(inner(v.authenticate2013));
  t.like(f.header, { id: MSG.authenticate, phone: '13511221122', serial: 6 });
  t.is(decodeAuthenticate(f.body, 2013).code, 'authentication');
  const body = encodeAuthenticate({ code: 'abc123', imei: '866496077582164', softwareVersion: 'v1.2' }, 2019);
  t.is(body.length, 1 + 6 + 15 + 20);
  t.deepEqual(decodeAuthenticate(body, 2019), { code: 'abc123', imei: '866496077582164', softwareVersion: 'v1.2' });
  t.throws(() => decodeAuthenticate(Buffer.of(9, 0x41), 2019), { instanceOf: BodyError });
});

test('0x0002 heartbeat: empty body', (t) => {
  const f = decodeFrame(inner(v.heartbeat2013));
  t.like(f.header, { id: MSG.heartbeat, phone: '43048325465', serial: 183 });
  t.is(f.body.length, 0);
  t.is(encodeFrame(f.header, f.body).toString('hex'), v.heartbeat2013);
});

test('0x0100 2013 widths: maker, model, terminal id, colour and a GBK plate', (t) => {
  const f = decodeFrame(inner(v.register2013));
  t.like(f.header, { id: MSG.register, phone: '13511221122', serial: 5 });
  const r = decodeRegister(f.body, 2013);
  t.deepEqual(r, { province: 0, city: 0, maker: '70107', model: 'HB-R03GBD', terminalId: '2366104', plateColor: 2, plate: '苏BA6860' });
  t.deepEqual(encodeRegister(r, 2013), f.body);
  // The 2019 widths (11/30/30) round-trip too.
  const r19 = { ...r, terminalId: 'T-0000000000001' };
  t.deepEqual(decodeRegister(encodeRegister(r19, 2019), 2019), r19);
});

test('the same body under 2013 and 2019 headers, and the platform replies to each, byte for byte', (t) => {
  const a = decodeFrame(inner(v.pair2013));
  const b = decodeFrame(inner(v.pair2019));
  t.deepEqual(a.body, b.body);
  t.like(a.header, { version: 2013, phoneBcd: '123456782013', serial: 1 });
  t.like(b.header, { version: 2019, phoneBcd: '12345678901234562019', serial: 1 });
  for (const [frame, reply] of [
    [a, v.reply2013],
    [b, v.reply2019],
  ] as const) {
    const out = encodeFrame(
      { id: MSG.platformReply, version: frame.header.version, protocolVersion: frame.header.protocolVersion, phoneBcd: frame.header.phoneBcd, serial: 1 },
      encodeGeneralReply({ serial: frame.header.serial, id: frame.header.id, result: 0 }),
    );
    t.is(out.toString('hex'), reply);
    t.deepEqual(decodeGeneralReply(decodeFrame(inner(reply)).body), { serial: 1, id: 0x0200, result: 0 });
  }
});

test('broken frames name their problem; a readable header comes with a body problem', (t) => {
  const bad = inner(v.heartbeat2013);
  bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff;
  t.throws(() => decodeFrame(bad), { instanceOf: FrameError, message: /checksum/ });
  t.throws(() => decodeFrame(Buffer.from('0002', 'hex')), { message: /too short/ });
  // Declared length past the end of the frame: the header is known, so the terminal can be told (result 2).
  const long = encodeFrame({ id: 0x0200, version: 2013, phoneBcd: '13900000001', serial: 3 }, Buffer.alloc(10));
  const raw = unescape(long.subarray(1, -1));
  raw.writeUInt16BE(40, 2);
  raw[raw.length - 1] = 0;
  raw[raw.length - 1] = raw.reduce((x, y) => x ^ y, 0);
  const err = t.throws(() => decodeFrame(escape(raw)), { instanceOf: FrameError, message: /declares a body of 40 bytes, the frame holds 10/ });
  t.is(err.header?.serial, 3);
  t.throws(() => decodeLocation(Buffer.alloc(20)), { instanceOf: BodyError, message: /20 bytes, 28 needed/ });
  const cut = Buffer.concat([encodeLocation({ lat: 33.6, lon: 119, time: Date.UTC(2026, 0, 1) }), Buffer.of(0x30, 4, 1)]);
  t.throws(() => decodeLocation(cut), { instanceOf: BodyError, message: /declares 4 bytes, 1 left/ });
  const notADate = encodeLocation({ lat: 33.6, lon: 119, time: 0 });
  notADate[23] = 0x13; // month 13
  t.throws(() => decodeLocation(notADate), { instanceOf: BodyError, message: /not a date/ });
  t.throws(() => decodeBatch(encodeBatch(1, [Buffer.alloc(28)]).subarray(0, 20)), { instanceOf: BodyError });
});

test('location round trip with the hemispheres, items and backfill batches', (t) => {
  const time = Date.UTC(2026, 11, 3, 1, 2, 3);
  const body = encodeLocation({ lat: -33.5, lon: -119.25, speedKmh: 42.5, course: 271, altitudeM: -5, time, mileageKm: 12.3, satellites: 9, alarm: 1 });
  const l = decodeLocation(body);
  t.like(l, { lat: -33.5, lon: -119.25, speedKmh: 42.5, course: 271, altitudeM: -5, mileageKm: 12.3, satellites: 9, alarm: 1, time });
  const batch = decodeBatch(encodeBatch(1, [body, body]));
  t.is(batch.type, 1);
  t.is(batch.items.length, 2);
  t.deepEqual(encodeResendRequest(0x1234, [2, 5], 2013), Buffer.from('12340200020005', 'hex'));
  t.deepEqual(encodeResendRequest(0x1234, [2], 2019), Buffer.from('123400010002', 'hex'));
});

test('the deframer resyncs on the next 7e after noise, a truncated frame or an oversized one', (t) => {
  const frames: string[] = [];
  const noise: string[] = [];
  const d = new Deframer((f) => frames.push(f.toString('hex')), (why) => noise.push(why), 100);
  const hb = wire(v.heartbeat2013);
  const truncated = hb.subarray(0, 8); // no closing flag: the next frame's 7e closes it
  d.push(Buffer.concat([Buffer.from('deadbeef', 'hex'), hb, truncated, hb]));
  // Byte by byte, a frame still comes out whole.
  for (const byte of hb) d.push(Buffer.of(byte));
  d.push(Buffer.concat([Buffer.of(0x7e), Buffer.alloc(500, 1), hb]));
  const good = inner(v.heartbeat2013).toString('hex');
  t.deepEqual(
    frames.map((f) => (f === good ? 'hb' : 'broken')),
    ['hb', 'broken', 'hb', 'hb', 'hb'],
  );
  t.true(noise.some((w) => /outside a frame/.test(w)));
  t.true(noise.some((w) => /longer than 100 bytes/.test(w)));
  t.is(d.buffered, 0);
  t.throws(() => decodeFrame(wire(frames[1]!)));
});

test('split messages are reassembled in any order; a missing packet is asked for once with 0x8003', async (t) => {
  const body = encodeBatch(0, Array.from({ length: 5 }, (_, i) => encodeLocation({ lat: 33.5, lon: 119 + i / 100, time: Date.UTC(2026, 0, 1, 0, i) })));
  const halves = [body.subarray(0, 60), body.subarray(60)];
  const frameOf = (i: number) =>
    decodeFrame(
      encodeFrame({ id: 0x0704, version: 2013, phoneBcd: '13900000001', serial: 10 + i, packet: { total: 2, index: i + 1 } }, halves[i]!).subarray(1, -1),
    );
  const resent: number[][] = [];
  const sp = new Subpackages({ timeoutMs: 50, maxBytes: 10_000, resend: (_h, first, missing) => resent.push([first, ...missing]), dropped: () => {} });
  t.is(sp.add(frameOf(1)), null);
  const whole = sp.add(frameOf(0));
  t.deepEqual(whole?.body, body);
  t.is(whole?.header.serial, 10);
  t.is(decodeBatch(whole!.body).items.length, 5);
  t.is(sp.buffered, 0);
  t.is(sp.add(frameOf(0)), null);
  await new Promise((r) => setTimeout(r, 80));
  t.deepEqual(resent, [[10, 2]]);
  t.deepEqual(sp.add(frameOf(1))?.body, body);
  sp.close();
});
