import { createHash } from 'node:crypto';
import exifReader from 'exif-reader';
import sharp, { type Metadata } from 'sharp';
import { HttpError } from '../errors.ts';

/**
 * A case photo as phones send it: any size, often rotated by an EXIF tag, full of metadata (camera, owner, place).
 * We keep the original bytes as evidence (shown only to case staff), and make a display size (≤ 1600 px) and a
 * thumbnail (≤ 320 px) with the orientation applied and every metadata tag dropped (sharp writes none unless
 * told). The place the camera recorded is read, so a report without a position can use it.
 */
export interface ProcessedPhoto {
  hash: string; // SHA-256 of the original: the same photo is stored once
  original: Buffer;
  originalType: string;
  display: Buffer;
  thumb: Buffer;
  width: number; // upright
  height: number;
  lon: number | null;
  lat: number | null;
}

export const DISPLAY_PX = 1600;
export const THUMB_PX = 320;
/** Decoded size a photo may have: 120 Mpx covers every phone camera (200 Mpx sensors bin to 50 Mpx files). */
export const MAX_PIXELS = 120_000_000;

const ACCEPTED = new Set(['jpeg', 'png', 'webp']);

function isHeic(buf: Buffer): boolean {
  // ISO BMFF: size(4) 'ftyp' brand(4); HEIC/HEIF brands as phones write them.
  return buf.length >= 12 && buf.toString('latin1', 4, 8) === 'ftyp' && /^(heic|heix|hevc|hevx|heim|heis|mif1|msf1)$/.test(buf.toString('latin1', 8, 12));
}

export function tooLargePhoto(maxMB: number): HttpError {
  return new HttpError(413, 'photo_too_large', `a photo may be at most ${maxMB} MB (PHOTO_MAX_MB)`);
}

/** Check and convert one uploaded photo; every refusal is a 4xx naming the file. */
export async function processPhoto(original: Buffer, name: string, maxMB: number): Promise<ProcessedPhoto> {
  if (original.length > maxMB * 2 ** 20) throw tooLargePhoto(maxMB);
  if (original.length === 0) throw new HttpError(400, 'empty_photo', `${name} is empty`);
  if (isHeic(original))
    throw new HttpError(415, 'heic_unsupported', `${name} is HEIC/HEIF, which this server cannot read: set the camera to JPEG ("Most compatible") or send a JPEG, PNG or WebP`);
  let meta: Metadata;
  try {
    meta = await sharp(original, { limitInputPixels: false }).metadata();
  } catch {
    throw new HttpError(415, 'not_an_image', `${name} is not an image (JPEG, PNG or WebP expected)`);
  }
  if (!meta.format || !ACCEPTED.has(meta.format))
    throw new HttpError(415, 'unsupported_image', `${name} is ${meta.format ?? 'an unknown format'}: send a JPEG, PNG or WebP`);
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  // A decompression bomb declares a huge canvas in a few bytes: refuse it from the header, before decoding.
  if (w * h > MAX_PIXELS)
    throw new HttpError(413, 'photo_too_many_pixels', `${name} is ${w}×${h} pixels; at most ${MAX_PIXELS / 1e6} million pixels are accepted`);
  const upright = (meta.orientation ?? 1) >= 5 ? { width: h, height: w } : { width: w, height: h };
  const gps = readGps(meta.exif);
  try {
    // Two pipelines on the same bytes, not base.clone(): sharp's clone() structuredClones its options, input
    // buffer included, on the event loop (about 18 ms per clone of a 3.65 MB photo on 2 cores, bench:cases).
    const upright_ = () => sharp(original, { limitInputPixels: MAX_PIXELS, failOn: 'error' }).rotate();
    const [display, thumb] = await Promise.all([
      upright_().resize({ width: DISPLAY_PX, height: DISPLAY_PX, fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 82, mozjpeg: false }).toBuffer(),
      upright_().resize({ width: THUMB_PX, height: THUMB_PX, fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 75 }).toBuffer(),
    ]);
    return {
      hash: createHash('sha256').update(original).digest('hex'),
      original,
      originalType: `image/${meta.format}`,
      display,
      thumb,
      ...upright,
      ...gps,
    };
  } catch (err) {
    throw new HttpError(400, 'damaged_image', `${name} could not be decoded: ${(err as Error).message.slice(0, 160)}`);
  }
}

/** EXIF GPS → WGS84 degrees (phones record WGS84), or nulls when absent or unreadable. */
export function readGps(exif: Buffer | undefined): { lon: number | null; lat: number | null } {
  const none = { lon: null, lat: null };
  if (!exif) return none;
  try {
    const gps = exifReader(exif).GPSInfo;
    const lat = dms(gps?.GPSLatitude);
    const lon = dms(gps?.GPSLongitude);
    if (lat === null || lon === null) return none;
    const signedLat = gps?.GPSLatitudeRef === 'S' ? -lat : lat;
    const signedLon = gps?.GPSLongitudeRef === 'W' ? -lon : lon;
    if (Math.abs(signedLat) > 90 || Math.abs(signedLon) > 180 || (signedLat === 0 && signedLon === 0)) return none;
    return { lon: signedLon, lat: signedLat };
  } catch {
    return none;
  }
}

function dms(v: unknown): number | null {
  if (!Array.isArray(v) || v.length !== 3 || !v.every((n) => typeof n === 'number' && Number.isFinite(n))) return null;
  return v[0] + v[1] / 60 + v[2] / 3600;
}
