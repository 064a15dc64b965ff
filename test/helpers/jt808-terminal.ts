import net from 'node:net';
import { Deframer, decodeFrame, encodeFrame, type Frame, type ProtocolYear } from '../../tile-server/src/vehicles/jt808/frame.ts';
import {
  MSG,
  decodeGeneralReply,
  decodeRegisterReply,
  encodeAuthenticate,
  encodeBatch,
  encodeLocation,
  encodeRegister,
  type LocationInput,
} from '../../tile-server/src/vehicles/jt808/messages.ts';

/**
 * A simulated JT/T 808 terminal on a real TCP connection: register → authenticate → heartbeats → fixes →
 * batches → logout, each call waiting for the platform's reply to its serial. Used by the gateway tests, the
 * desk's browser test and `npm run bench:vehicles`.
 */
export class SimTerminal {
  readonly socket: net.Socket;
  private serial = 0;
  private waiting = new Map<string, (f: Frame) => void>();
  /** Every frame the platform sent, in order. */
  readonly received: Frame[] = [];
  private closedP: Promise<void>;

  private constructor(
    socket: net.Socket,
    readonly phone: string,
    readonly version: ProtocolYear,
  ) {
    this.socket = socket;
    socket.setNoDelay(true);
    const deframer = new Deframer(
      (escaped) => {
        const f = decodeFrame(escaped);
        this.received.push(f);
        const ack = f.header.id === MSG.registerReply || f.header.id === MSG.platformReply ? f.body.readUInt16BE(0) : -1;
        const key = `${f.header.id}:${ack}`;
        const done = this.waiting.get(key);
        if (done) {
          this.waiting.delete(key);
          done(f);
        }
      },
      () => {},
    );
    socket.on('data', (c: Buffer) => deframer.push(c));
    socket.on('error', () => {});
    this.closedP = new Promise((resolve) => socket.on('close', () => resolve()));
  }

  static async connect(port: number, phone: string, version: ProtocolYear = 2013, host = '127.0.0.1'): Promise<SimTerminal> {
    const socket = net.connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new SimTerminal(socket, phone, version);
  }

  get closed(): Promise<void> {
    return this.closedP;
  }

  /** Send a message; resolves with the platform's reply to it (0x8001 or 0x8100). */
  send(id: number, body: Buffer, timeoutMs = 10_000): Promise<Frame> {
    const serial = this.serial++ & 0xffff;
    const replyId = id === MSG.register ? MSG.registerReply : MSG.platformReply;
    const reply = new Promise<Frame>((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting.delete(`${replyId}:${serial}`);
        reject(new Error(`no reply to 0x${id.toString(16)} serial ${serial} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(`${replyId}:${serial}`, (f) => {
        clearTimeout(t);
        resolve(f);
      });
    });
    this.socket.write(this.frame(id, body, serial));
    return reply;
  }

  /** The bytes of a message from this terminal (for tests that cut or corrupt them). */
  frame(id: number, body: Buffer, serial = this.serial++ & 0xffff): Buffer {
    return encodeFrame({ id, version: this.version, phoneBcd: this.phone, serial }, body);
  }

  /** 0x8001 result of a message. */
  async result(id: number, body: Buffer): Promise<number> {
    return decodeGeneralReply((await this.send(id, body)).body).result;
  }

  async register(plate: string, plateColor: number, terminalId = 'SIM0001'): Promise<{ result: number; authCode: string | null }> {
    const body = encodeRegister({ province: 32, city: 800, maker: 'CBSIM', model: 'SIM-808', terminalId, plateColor, plate }, this.version);
    const r = decodeRegisterReply((await this.send(MSG.register, body)).body);
    return { result: r.result, authCode: r.authCode };
  }

  authenticate(code: string): Promise<number> {
    return this.result(MSG.authenticate, encodeAuthenticate({ code, imei: '860000000000001', softwareVersion: 'sim' }, this.version));
  }

  heartbeat(): Promise<number> {
    return this.result(MSG.heartbeat, Buffer.alloc(0));
  }

  location(fix: LocationInput): Promise<number> {
    return this.result(MSG.location, encodeLocation(fix));
  }

  batch(type: 0 | 1, fixes: LocationInput[]): Promise<number> {
    return this.result(MSG.batch, encodeBatch(type, fixes.map(encodeLocation)));
  }

  async logout(): Promise<number> {
    const r = await this.result(MSG.logout, Buffer.alloc(0));
    await this.closed;
    return r;
  }

  /** Register (when no code is given) and authenticate; throws unless both succeed. */
  async login(plate: string, plateColor: number): Promise<string> {
    const reg = await this.register(plate, plateColor);
    if (reg.result !== 0 || !reg.authCode) throw new Error(`registration of ${plate} answered ${reg.result}`);
    const auth = await this.authenticate(reg.authCode);
    if (auth !== 0) throw new Error(`authentication of ${plate} answered ${auth}`);
    return reg.authCode;
  }

  end(): void {
    this.socket.destroy();
  }
}
