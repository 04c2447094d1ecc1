/** A one-line progress bar for terminals; silent when the stream is not a TTY. */

export interface Progress {
  /** Redraws the bar at `percent` (clamped to 0..100). */
  update(percent: number): void;
  /** Clears the bar (if one was drawn). Further updates are ignored. */
  done(): void;
}

const BAR_WIDTH = 30;

/** Creates a progress bar labelled `label` drawing on `stream` (only if it is a TTY). */
export function createProgress(stream: NodeJS.WritableStream, label: string): Progress {
  const tty = (stream as NodeJS.WritableStream & { isTTY?: boolean }).isTTY === true;
  let drawn = false;
  let finished = false;
  let last = -1;
  return {
    update(percent: number): void {
      if (!tty || finished || !Number.isFinite(percent)) return;
      const value = Math.max(0, Math.min(100, Math.round(percent)));
      if (value === last) return;
      last = value;
      const filled = Math.round((value / 100) * BAR_WIDTH);
      stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(value).padStart(3)}%`);
      drawn = true;
    },
    done(): void {
      if (finished) return;
      finished = true;
      if (drawn) stream.write('\r\x1b[2K');
    },
  };
}
