// The reconnection schedule of the client's long-lived streams (watch, lease keep-alive): the
// pause doubles from streamRetryInitialMs up to streamRetryMaxMs, and starts over once the
// stream answers. One retry is pending at a time; cancel() drops it.

import { streamRetryInitialMs, streamRetryMaxMs } from './options.js';

export class StreamRetry {
  private delayMs = streamRetryInitialMs;
  private timer: NodeJS.Timeout | undefined;

  /** Runs `reconnect` after the current pause; the next pause is twice as long (up to the cap). */
  schedule(reconnect: () => void): void {
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, streamRetryMaxMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      reconnect();
    }, delay);
  }

  /** The stream answered: the next failure waits the shortest pause again. */
  reset(): void {
    this.delayMs = streamRetryInitialMs;
  }

  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
