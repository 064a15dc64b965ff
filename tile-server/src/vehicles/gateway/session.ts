import type net from 'node:net';
import type { Logger } from 'pino';
import type { VehicleInfo } from '../fleet.ts';
import { Deframer, FrameError, decodeFrame, encodeFrame, type Frame, type Header } from '../jt808/frame.ts';
import {
  BodyError,
  MSG,
  RESULT,
  decodeAuthenticate,
  decodeBatch,
  decodeGeneralReply,
  decodeLocation,
  decodeRegister,
  encodeGeneralReply,
  encodeRegisterReply,
  encodeResendRequest,
} from '../jt808/messages.ts';
import { Subpackages } from '../jt808/subpackages.ts';

/** What a session needs from the rest of the platform. */
export interface SessionContext {
  log: Logger;
  limits: SessionLimits;
  register(r: { phone: string; plate: string; plateColor: number; terminalId: string; maker: string; model: string }): Promise<{ result: number; authCode?: string }>;
  authenticate(phone: string, code: string): Promise<VehicleInfo | null>;
  /** Returns false when the fix could not be kept (then the terminal gets result 1 and sends it again). */
  location(vehicle: VehicleInfo, frame: Header, locations: ReturnType<typeof decodeLocation>[], backfill: boolean): boolean;
  online(session: Session, vehicle: VehicleInfo): void;
  offline(session: Session, vehicle: VehicleInfo): void;
  count(event: string): void;
}

export interface SessionLimits {
  /** No message for this long (3 missed heartbeats) closes the connection. */
  idleMs: number;
  /** Messages per second a terminal may send (token bucket of one second's worth); beyond it frames are dropped. */
  messagesPerSecond: number;
  /** Frames dropped for the rate before the connection is closed. */
  maxDropped: number;
  /** Bytes held for split messages. */
  subpackageBytes: number;
  subpackageTimeoutMs: number;
  /** Frames waiting to be handled before reading from the socket pauses. */
  queueFrames: number;
}

/**
 * One terminal connection. Frames are handled one at a time in arrival order (a queue, so a register answered
 * by the database is never overtaken by the authentication behind it); the socket is paused while the queue is
 * full, so a flooding peer is held back by TCP rather than by memory. Before authentication only 0x0100 and
 * 0x0102 are handled; everything else is answered with result 1 and otherwise ignored.
 */
export class Session {
  vehicle: VehicleInfo | null = null;
  private header: Header | null = null;
  private serial = 0;
  private queue: Frame[] = [];
  private busy = false;
  private tokens: number;
  private refilled = Date.now();
  private dropped = 0;
  private idle: NodeJS.Timeout;
  private readonly deframer: Deframer;
  private readonly parts: Subpackages;
  closed = false;
  private corked = false;

  constructor(
    readonly socket: net.Socket,
    private readonly ctx: SessionContext,
  ) {
    const { limits } = ctx;
    this.tokens = limits.messagesPerSecond;
    this.deframer = new Deframer(
      (escaped) => this.onFrame(escaped),
      () => ctx.count('noise'),
    );
    this.parts = new Subpackages({
      timeoutMs: limits.subpackageTimeoutMs,
      maxBytes: limits.subpackageBytes,
      resend: (h, first, missing) => this.send(MSG.resend, encodeResendRequest(first, missing, h.version)),
      dropped: () => ctx.count('subpackage_dropped'),
    });
    this.idle = setTimeout(() => this.close('idle'), limits.idleMs);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      // The replies to one read go out in one write (a syscall per reply costs more than the decoding).
      if (!this.corked) {
        this.corked = true;
        socket.cork();
        setImmediate(() => {
          this.corked = false;
          socket.uncork();
        });
      }
      this.deframer.push(chunk);
    });
    socket.on('error', () => {});
    socket.on('close', () => this.close('closed by the terminal'));
  }

  close(why: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idle);
    this.parts.close();
    this.queue = [];
    if (this.vehicle) this.ctx.offline(this, this.vehicle);
    this.ctx.count(`closed_${why.split(' ')[0]}`);
    this.socket.destroy();
  }

  private onFrame(escaped: Buffer): void {
    if (this.closed) return;
    if (!this.take()) {
      this.ctx.count('rate_dropped');
      if (++this.dropped > this.ctx.limits.maxDropped) this.close('flooding');
      return;
    }
    let frame: Frame;
    try {
      frame = decodeFrame(escaped);
    } catch (err) {
      this.ctx.count('bad_frame');
      // The header was readable: tell the terminal its message was wrong (result 2).
      if (err instanceof FrameError && err.header) this.reply(err.header, RESULT.badMessage);
      return;
    }
    this.idle.refresh();
    if (frame.header.packet) {
      const whole = this.parts.add(frame);
      if (!whole) return;
      frame = whole;
    }
    this.queue.push(frame);
    if (this.queue.length >= this.ctx.limits.queueFrames) this.socket.pause();
    void this.pump();
  }

  /** Token bucket: `messagesPerSecond` per second, at most one second's worth saved up. */
  private take(): boolean {
    const now = Date.now();
    const rate = this.ctx.limits.messagesPerSecond;
    this.tokens = Math.min(rate, this.tokens + ((now - this.refilled) / 1000) * rate);
    this.refilled = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length && !this.closed) {
        const frame = this.queue.shift()!;
        try {
          await this.handle(frame);
        } catch (err) {
          if (err instanceof BodyError) {
            this.ctx.count('bad_body');
            this.reply(frame.header, RESULT.badMessage);
          } else {
            this.ctx.log.error({ err, id: frame.header.id }, 'a JT/T 808 message could not be handled');
            this.reply(frame.header, RESULT.failure);
          }
        }
        if (this.queue.length < this.ctx.limits.queueFrames / 2 && this.socket.isPaused()) this.socket.resume();
      }
    } finally {
      this.busy = false;
    }
  }

  private async handle(frame: Frame): Promise<void> {
    const h = frame.header;
    this.header = h;
    if (h.encryption !== 0) return this.reply(h, RESULT.unsupported);
    if (h.id === MSG.register) {
      const r = decodeRegister(frame.body, h.version);
      const answer = await this.ctx.register({ phone: h.phone, plate: r.plate, plateColor: r.plateColor, terminalId: r.terminalId, maker: r.maker, model: r.model });
      this.ctx.count(`register_${answer.result}`);
      return this.send(MSG.registerReply, encodeRegisterReply(h.serial, answer.result, answer.authCode));
    }
    if (h.id === MSG.authenticate) {
      const a = decodeAuthenticate(frame.body, h.version);
      const vehicle = await this.ctx.authenticate(h.phone, a.code);
      if (!vehicle) {
        this.ctx.count('auth_failed');
        return this.reply(h, RESULT.failure);
      }
      if (this.vehicle && this.vehicle.id !== vehicle.id) this.ctx.offline(this, this.vehicle);
      this.vehicle = vehicle;
      this.ctx.online(this, vehicle);
      return this.reply(h, RESULT.ok);
    }
    // Unauthenticated terminals (or a frame from another phone on this connection) get nothing else.
    if (!this.vehicle || h.phone !== this.vehicle.phone) {
      this.ctx.count('unauthenticated');
      return this.reply(h, RESULT.failure);
    }
    switch (h.id) {
      case MSG.heartbeat:
        return this.reply(h, RESULT.ok);
      case MSG.location: {
        const kept = this.ctx.location(this.vehicle, h, [decodeLocation(frame.body)], false);
        return this.reply(h, kept ? RESULT.ok : RESULT.failure);
      }
      case MSG.batch: {
        const batch = decodeBatch(frame.body);
        const kept = this.ctx.location(this.vehicle, h, batch.items, batch.type === 1);
        return this.reply(h, kept ? RESULT.ok : RESULT.failure);
      }
      case MSG.logout:
        this.reply(h, RESULT.ok);
        this.socket.end();
        return this.close('logout');
      case MSG.terminalReply:
        decodeGeneralReply(frame.body);
        return;
      default:
        this.ctx.count('unsupported');
        return this.reply(h, RESULT.unsupported);
    }
  }

  /** 0x8001 to a terminal message: its serial and id, and a result. */
  private reply(h: Header, result: number): void {
    this.header = h;
    this.send(MSG.platformReply, encodeGeneralReply({ serial: h.serial, id: h.id, result }));
  }

  /** Platform messages carry the platform's own serial and echo the terminal's header version. */
  private send(id: number, body: Buffer): void {
    const h = this.header;
    if (!h || this.closed || this.socket.destroyed) return;
    this.socket.write(encodeFrame({ id, version: h.version, protocolVersion: h.protocolVersion, phoneBcd: h.phoneBcd, serial: this.serial++ & 0xffff }, body));
  }
}
