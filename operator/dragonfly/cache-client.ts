import { Socket } from "node:net";
import { encodeCommand, parseValue, RespError, type RespValue } from "./resp.js";

export interface CacheAddress {
  host: string;
  port: number;
}

/**
 * One connection to a cache server, one command at a time, every command with a deadline (the
 * connection is destroyed when one passes: a late answer must not be read as the next one's).
 * `beforeWrite` runs before each command that changes the server (the leadership guard).
 */
export class CacheClient {
  private socket: Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (v: RespValue) => void; reject: (e: Error) => void } | undefined;
  private closed = false;

  constructor(
    readonly address: CacheAddress,
    private readonly options: { password?: string; timeoutMs: number; beforeWrite?: () => void },
  ) {}

  private connect(): Promise<void> {
    const { host, port } = this.address;
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`cache ${host}:${port}: no connection within ${this.options.timeoutMs} ms`));
      }, this.options.timeoutMs);
      socket.once("error", (err) => {
        clearTimeout(timer);
        reject(new Error(`cache ${host}:${port}: ${err.message}`));
      });
      socket.connect(port, host, () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        socket.setNoDelay(true);
        // Events of a connection already given up (fail) concern nobody.
        socket.on("data", (chunk: Buffer) => this.socket === socket && this.received(chunk));
        socket.on("error", (err) => this.socket === socket && this.fail(new Error(`cache ${host}:${port}: ${err.message}`)));
        socket.on("close", () => this.socket === socket && this.fail(new Error(`cache ${host}:${port}: connection closed`)));
        this.socket = socket;
        resolve();
      });
    });
  }

  private received(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let parsed: ReturnType<typeof parseValue>;
    try {
      parsed = parseValue(this.buffer);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    if (parsed === undefined) return;
    this.buffer = this.buffer.subarray(parsed.end);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve(parsed.value);
  }

  /**
   * Ends the connection with the command waiting on it; the next command opens a new one (a late
   * answer on the old one is never read as another command's).
   */
  private fail(err: Error): void {
    this.socket?.destroy();
    this.socket = undefined;
    this.buffer = Buffer.alloc(0);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(err);
  }

  /** Sends a command that only reads; an error answer throws. */
  read(args: readonly (string | number)[], timeoutMs?: number): Promise<RespValue> {
    return this.send(args, timeoutMs);
  }

  /** Sends a command that changes the server, after the leadership guard. */
  write(args: readonly (string | number)[], timeoutMs?: number): Promise<RespValue> {
    this.options.beforeWrite?.();
    return this.send(args, timeoutMs);
  }

  private async send(args: readonly (string | number)[], timeoutMs = this.options.timeoutMs): Promise<RespValue> {
    if (this.closed) throw new Error(`cache ${this.address.host}:${this.address.port}: client closed`);
    if (this.socket === undefined) {
      await this.connect();
      if (this.options.password !== undefined) await this.exchange(["AUTH", this.options.password], this.options.timeoutMs, "AUTH");
    }
    return this.exchange(args, timeoutMs, String(args[0]));
  }

  private exchange(args: readonly (string | number)[], timeoutMs: number, name: string): Promise<RespValue> {
    const { host, port } = this.address;
    if (this.waiting !== undefined) return Promise.reject(new Error(`cache ${host}:${port}: ${name} sent while another command waits (one at a time)`));
    return new Promise<RespValue>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`cache ${host}:${port}: no answer to ${name} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting = {
        resolve: (value) => {
          clearTimeout(timer);
          if (value instanceof RespError) reject(new Error(`cache ${host}:${port}: ${name}: ${value.message}`));
          else resolve(value);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.socket?.write(encodeCommand(args));
    });
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.socket = undefined;
  }
}
