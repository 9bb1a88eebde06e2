import type { Clock, TimerId } from './runtime.ts';

export interface TypingOptions {
  /** Typing stops this long after the last keystroke (default 1000 ms). */
  pauseMs?: number;
  /** While typing goes on, start is sent again this often so the server's state does not lapse (default 4000 ms). */
  refreshMs?: number;
}

/**
 * A conversation's typing state, from keystrokes: `input()` on each one sends `isTyping: true`
 * once (again every `refreshMs` while typing goes on) and `isTyping: false` after a pause of
 * `pauseMs`; `stop()` sends it at once (on send, or when the input loses focus).
 */
export class TypingIndicator {
  private typing = false;
  private sentAt = 0;
  private timer: TimerId | undefined;
  private readonly pauseMs: number;
  private readonly refreshMs: number;

  constructor(
    private readonly post: (isTyping: boolean) => Promise<unknown>,
    private readonly clock: Clock,
    options: TypingOptions = {},
  ) {
    this.pauseMs = options.pauseMs ?? 1000;
    this.refreshMs = options.refreshMs ?? 4000;
  }

  get isTyping(): boolean {
    return this.typing;
  }

  input(): void {
    const now = this.clock.now();
    if (!this.typing || now - this.sentAt >= this.refreshMs) {
      this.typing = true;
      this.sentAt = now;
      this.post(true).catch(() => {});
    }
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => this.stop(), this.pauseMs);
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.typing) return;
    this.typing = false;
    this.post(false).catch(() => {});
  }
}
