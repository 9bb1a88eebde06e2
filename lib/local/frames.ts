/**
 * Watches the raw bytes a WebSocket client sends and reports the first frame whose payload is
 * larger than a limit, as soon as its header has arrived.
 *
 * API Gateway limits each frame to 32 KB and each message (one or more frames) to 128 KB. The
 * `ws` library only knows one limit (`maxPayload`, applied to frames and messages alike), so the
 * emulator gives `ws` the message limit and checks frames here.
 */
export class FrameSizeGuard {
  private readonly header = Buffer.alloc(14);
  private have = 0;
  private need = 2;
  private remaining = 0;
  private tripped = false;

  constructor(
    private readonly limit: number,
    private readonly onTooLarge: (payloadBytes: number) => void,
  ) {}

  /** Feeds the next bytes read from the socket (client frames, masked or not). */
  feed(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length && !this.tripped) {
      if (this.remaining > 0) {
        const skip = Math.min(this.remaining, chunk.length - i);
        i += skip;
        this.remaining -= skip;
        continue;
      }
      this.header[this.have++] = chunk[i++]!;
      if (this.have === 2) {
        const length7 = this.header[1]! & 0x7f;
        const masked = (this.header[1]! & 0x80) !== 0;
        this.need = 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + (masked ? 4 : 0);
      }
      if (this.have >= 2 && this.have === this.need) {
        const length7 = this.header[1]! & 0x7f;
        const payload =
          length7 === 126 ? this.header.readUInt16BE(2) : length7 === 127 ? Number(this.header.readBigUInt64BE(2)) : length7;
        this.have = 0;
        this.need = 2;
        if (payload > this.limit) {
          this.tripped = true;
          this.onTooLarge(payload);
          return;
        }
        this.remaining = payload;
      }
    }
  }
}
