/**
 * Streams the features out of GeoJSON text of any size without holding the whole document: it follows the
 * bracket structure (strings and escapes respected) and hands out the raw text of each element of the top-level
 * "features" array, of each other top-level member, and of each further top-level value (GeoJSON Text Sequences,
 * RFC 8142, and newline-delimited GeoJSON). Each piece is then parsed by JSON.parse, which is native and fast.
 * Only the text of the piece being read is kept in memory, as the chunks it spans: each chunk is scanned once
 * and a piece's text is joined once, when it ends. (Joining the pending text to every new chunk made a single
 * 150 MB feature take minutes, since each append re-flattened all of it.)
 */
export type ScanEvent =
  | { kind: 'member'; key: string; text: string } // a member of the first top-level object, other than "features"
  | { kind: 'feature'; text: string; at: number } // an element of its "features" array
  | { kind: 'value'; text: string; at: number }; // a further top-level value (a text sequence)

export class JsonStructureError extends Error {}

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJ = 123;
const CLOSE_OBJ = 125;
const OPEN_ARR = 91;
const CLOSE_ARR = 93;
const COMMA = 44;
const COLON = 58;

const isBlank = (c: number) => c === 32 || c === 10 || c === 13 || c === 9 || c === 0x1e || c === 0xfeff;

export class JsonScanner {
  /** Characters in the chunks before the current one: positions in messages are absolute. */
  private offset = 0;
  /** Text of the open piece from the chunks before the current one (at most one piece is open at a time). */
  private pending: string[] = [];
  /** Absolute position where the open piece starts. */
  private pieceAt = 0;
  private stack: number[] = [];
  private inString = false;
  private escape = false;
  private firstDone = false;
  private started = false;
  // members of the first top-level object
  private expectKey = false;
  private keyStart = -1;
  private key = '';
  private valueStart = -1;
  private awaitingValue = false;
  // the "features" array
  private inFeatures = false;
  private elemStart = -1;
  // further top-level values
  private topStart = -1;

  /** Feed the next decoded chunk; returns the pieces completed by it. */
  push(chunk: string): ScanEvent[] {
    const events: ScanEvent[] = [];
    const t = chunk;
    for (let p = 0; p < t.length; p++) {
      const c = t.charCodeAt(p);
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === BACKSLASH) this.escape = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.keyStart >= 0) {
            this.key = JSON.parse(this.piece(t, this.keyStart, p + 1)) as string;
            this.keyStart = -1;
          }
        }
        continue;
      }
      if (isBlank(c)) continue;
      const depth = this.stack.length;
      // A value starts here?
      if (depth === 0) {
        if (!this.firstDone) {
          if (c !== OPEN_OBJ) throw this.error(p, this.started ? 'unexpected text' : 'GeoJSON must start with an object ({)');
          this.started = true;
          this.expectKey = true;
        } else if (this.topStart < 0) {
          if (c !== OPEN_OBJ) throw this.error(p, 'unexpected text after the end of the GeoJSON object');
          this.topStart = this.start(p);
        }
      } else if (!this.firstDone && depth === 1) {
        if (this.expectKey && c === QUOTE) this.keyStart = this.start(p);
        else if (this.awaitingValue) {
          this.awaitingValue = false;
          if (this.key === 'features' && c === OPEN_ARR) this.inFeatures = true;
          else this.valueStart = this.start(p);
        }
      } else if (this.inFeatures && depth === 2 && this.elemStart < 0 && c !== COMMA && c !== CLOSE_ARR) this.elemStart = this.start(p);

      switch (c) {
        case QUOTE:
          this.inString = true;
          break;
        case OPEN_OBJ:
        case OPEN_ARR:
          if (depth > 512) throw this.error(p, 'nested too deeply');
          this.stack.push(c);
          break;
        case CLOSE_OBJ:
        case CLOSE_ARR: {
          const open = this.stack.pop();
          if (open === undefined || (open === OPEN_OBJ) !== (c === CLOSE_OBJ)) throw this.error(p, `unbalanced "${String.fromCharCode(c)}"`);
          const now = this.stack.length;
          if (!this.firstDone && now === 0) {
            this.endMember(t, p, events);
            this.firstDone = true;
          } else if (!this.firstDone && now === 1 && this.inFeatures) {
            if (this.elemStart >= 0) this.endElement(t, p, events); // a primitive element before "]"
            this.inFeatures = false;
            this.awaitingValue = false;
          } else if (this.inFeatures && now === 2 && this.elemStart >= 0 && c === CLOSE_OBJ) this.endElement(t, p + 1, events);
          else if (this.firstDone && now === 0) {
            events.push({ kind: 'value', text: this.piece(t, this.topStart, p + 1), at: this.pieceAt });
            this.topStart = -1;
          }
          break;
        }
        case COMMA:
          if (!this.firstDone && depth === 1) {
            this.endMember(t, p, events);
            this.expectKey = true;
          } else if (this.inFeatures && depth === 2 && this.elemStart >= 0) this.endElement(t, p, events);
          break;
        case COLON:
          if (!this.firstDone && depth === 1 && this.expectKey) {
            this.expectKey = false;
            this.awaitingValue = true;
          }
          break;
      }
    }
    // The open piece, if any, continues in the next chunk: keep its text so far and read on from that chunk's start.
    for (const k of ['keyStart', 'valueStart', 'elemStart', 'topStart'] as const)
      if (this[k] >= 0) {
        this.pending.push(this[k] === 0 ? t : t.slice(this[k]));
        this[k] = 0;
      }
    this.offset += t.length;
    return events;
  }

  /** The input ended: anything still open means the file is cut short. */
  end(): void {
    if (!this.started) throw new JsonStructureError('the file holds no JSON');
    if (this.inString || this.stack.length > 0 || this.topStart >= 0)
      throw new JsonStructureError(`the JSON ends in the middle of ${this.inFeatures ? 'the features array' : 'an object'} (is the file truncated?)`);
  }

  private endMember(t: string, p: number, events: ScanEvent[]): void {
    if (this.valueStart >= 0) events.push({ kind: 'member', key: this.key, text: this.piece(t, this.valueStart, p).trim() });
    this.valueStart = -1;
  }

  private endElement(t: string, end: number, events: ScanEvent[]): void {
    events.push({ kind: 'feature', text: this.piece(t, this.elemStart, end).trim(), at: this.pieceAt });
    this.elemStart = -1;
  }

  /** A piece starts at p of the current chunk. */
  private start(p: number): number {
    this.pieceAt = this.offset + p;
    this.pending = [];
    return p;
  }

  /** The open piece's text, ending at `end` of the current chunk: what earlier chunks held of it, joined once. */
  private piece(t: string, start: number, end: number): string {
    const tail = t.slice(start, end);
    if (this.pending.length === 0) return tail;
    this.pending.push(tail);
    const text = this.pending.join('');
    this.pending = [];
    return text;
  }

  private error(p: number, message: string): JsonStructureError {
    return new JsonStructureError(`${message} at character ${this.offset + p + 1}`);
  }
}
