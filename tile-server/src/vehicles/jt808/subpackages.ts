import type { Frame, Header } from './frame.ts';

/**
 * Reassembly of split messages (header bit 13: packet `index` of `total`). The packets of one message carry
 * consecutive serials, so the message is keyed by its id and the serial of packet 1. Bounded: at most
 * `maxBytes` held per connection (the oldest message is given up first), and a message still incomplete after
 * `timeoutMs` asks for its missing packets once (0x8003) and is dropped after a second timeout.
 */
interface Pending {
  header: Header;
  firstSerial: number;
  parts: Array<Buffer | undefined>;
  bytes: number;
  asked: boolean;
  timer: NodeJS.Timeout;
}

export interface Reassembled {
  frame: Frame;
}

export class Subpackages {
  private pending = new Map<string, Pending>();
  private held = 0;

  constructor(
    private readonly opts: {
      timeoutMs: number;
      maxBytes: number;
      /** Ask the terminal for the missing packet numbers of a message. */
      resend: (header: Header, firstSerial: number, missing: number[]) => void;
      dropped: (why: string) => void;
    },
  ) {}

  get buffered(): number {
    return this.held;
  }

  /** Add a packet; returns the whole message once its last packet is in. */
  add(frame: Frame): Frame | null {
    const { header, body } = frame;
    const { total, index } = header.packet!;
    const firstSerial = (header.serial - (index - 1) + 0x10000) & 0xffff;
    const key = `${header.id}:${firstSerial}:${total}`;
    let p = this.pending.get(key);
    if (!p) {
      p = { header, firstSerial, parts: Array.from({ length: total }, () => undefined), bytes: 0, asked: false, timer: this.arm(key) };
      this.pending.set(key, p);
    }
    if (p.parts[index - 1] === undefined) {
      p.parts[index - 1] = body;
      p.bytes += body.length;
      this.held += body.length;
    }
    while (this.held > this.opts.maxBytes && this.pending.size > 0) {
      const [oldest] = this.pending.keys();
      this.drop(oldest!, `split messages over ${this.opts.maxBytes} bytes`);
    }
    if (!this.pending.has(key) || p.parts.some((x) => x === undefined)) return null;
    this.forget(key);
    const whole = Buffer.concat(p.parts as Buffer[]);
    return { header: { ...p.header, serial: p.firstSerial, packet: null }, body: whole };
  }

  close(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.held = 0;
  }

  private arm(key: string): NodeJS.Timeout {
    const t = setTimeout(() => {
      const p = this.pending.get(key);
      if (!p) return;
      if (p.asked) return this.drop(key, `split message ${key} incomplete after a re-send request`);
      p.asked = true;
      const missing = p.parts.flatMap((x, i) => (x === undefined ? [i + 1] : []));
      this.opts.resend(p.header, p.firstSerial, missing);
      p.timer = this.arm(key);
    }, this.opts.timeoutMs);
    t.unref();
    return t;
  }

  private forget(key: string): void {
    const p = this.pending.get(key)!;
    clearTimeout(p.timer);
    this.held -= p.bytes;
    this.pending.delete(key);
  }

  private drop(key: string, why: string): void {
    this.forget(key);
    this.opts.dropped(why);
  }
}
