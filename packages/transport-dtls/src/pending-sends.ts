/**
 * Counts datagrams handed to a UDP socket but not yet sent, so that a close can wait for a
 * final close_notify to leave before the socket goes away.
 */
export class PendingSends {
  private count = 0;
  private waiters: Array<() => void> = [];

  /** The callback for `socket.send`; call once per datagram. */
  readonly done = (): void => {
    this.count--;
    if (this.count <= 0) {
      this.count = 0;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
  };

  begin(): void {
    this.count++;
  }

  /** Resolves when nothing is pending, or after `maxMs` whatever happens. */
  idle(maxMs = 200): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, maxMs);
      timer.unref();
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
