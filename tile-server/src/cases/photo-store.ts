import type pg from 'pg';
import type { ProcessedPhoto } from './photos.ts';

export type PhotoPhase = '上报' | '处置' | '核实' | '核查';

/** Store photos by content hash (once, whoever sends them again) and link them to a case and timeline entry. */
export async function attachPhotos(client: pg.ClientBase, caseId: string, phase: PhotoPhase, timelineId: number, photos: readonly ProcessedPhoto[]): Promise<void> {
  for (const p of photos) {
    // The original (megabytes) is the last parameter: pg's message writer grows its buffer by copying what it
    // holds, so a large value first would be copied again for each parameter after it (bench:cases).
    await client.query(
      `INSERT INTO cases.photos (hash, original_type, display, thumb, width, height, lon, lat, original)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (hash) DO NOTHING`,
      [p.hash, p.originalType, p.display, p.thumb, p.width, p.height, p.lon, p.lat, p.original],
    );
    await client.query(
      `INSERT INTO cases.case_photos (case_id, hash, phase, timeline_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [caseId, p.hash, phase, timelineId],
    );
  }
}

export const PHOTO_SIZES = ['thumb', 'display', 'original'] as const;
export type PhotoSize = (typeof PHOTO_SIZES)[number];
