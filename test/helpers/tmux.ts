/**
 * A real pseudo-terminal for terminal tests: a tmux session of a given size on a private tmux server, a shell in
 * it, keys sent as a user types them, and the screen read back as tmux renders it. Waits poll the screen until a
 * condition holds, with a generous deadline, so a loaded machine is slow but not flaky.
 */
import { execFileSync } from 'node:child_process';
import { BIN } from './cli.js';

let sessions = 0;

export interface PaneOptions {
  cols: number;
  rows: number;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export class Pane {
  private constructor(
    private readonly socket: string,
    private readonly target: string,
  ) {}

  static open(opts: PaneOptions): Pane {
    const socket = `ecrx-test-${process.pid}-${++sessions}`;
    const env = Object.entries({ LANG: 'C.UTF-8', ...opts.env })
      .filter(([, v]) => v !== undefined)
      .flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    const pane = new Pane(socket, 'main');
    // No rc files and a fixed prompt: the screen holds only what the test typed and what ecrx printed.
    pane.tmux([
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-s',
      'main',
      '-x',
      String(opts.cols),
      '-y',
      String(opts.rows),
      ...(opts.cwd ? ['-c', opts.cwd] : []),
      ...env,
      'env',
      'PS1=$ ',
      'bash',
      '--norc',
      '--noprofile',
    ]);
    pane.tmux(['set-option', '-t', 'main', 'status', 'off']);
    pane.tmux(['set-window-option', '-t', 'main', 'window-size', 'manual']);
    return pane;
  }

  private tmux(args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  /** Types a command line and Enter. */
  type(line: string): void {
    this.tmux(['send-keys', '-t', this.target, '-l', line]);
    this.tmux(['send-keys', '-t', this.target, 'Enter']);
  }

  /** Runs ecrx with `args` (already shell-quoted), then prints its exit status as EXIT=n. */
  ecrx(args: string): void {
    this.type(`printf '\\033[H\\033[2J\\033[3J'; ${process.execPath} ${BIN} ${args}; echo "EXIT=$?"`);
  }

  key(name: string): void {
    this.tmux(['send-keys', '-t', this.target, name]);
  }

  resize(cols: number, rows?: number): void {
    this.tmux(['resize-window', '-t', this.target, '-x', String(cols), ...(rows ? ['-y', String(rows)] : [])]);
  }

  /** The visible screen, one string per row (trailing spaces trimmed). */
  screen(): string[] {
    return this.tmux(['capture-pane', '-p', '-t', this.target])
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => l.replace(/\s+$/, ''));
  }

  /** Whether the terminal shows its cursor (bars hide it and must give it back). */
  cursorVisible(): boolean {
    return this.tmux(['display-message', '-p', '-t', this.target, '#{cursor_flag}']).trim() === '1';
  }

  size(): { cols: number; rows: number } {
    const [cols, rows] = this.tmux(['display-message', '-p', '-t', this.target, '#{pane_width} #{pane_height}'])
      .trim()
      .split(' ')
      .map(Number);
    return { cols, rows };
  }

  /** Polls the screen until `done` returns true; fails with the last screen after `timeoutMs`. */
  async waitFor(
    what: string,
    done: (screen: string[]) => boolean,
    timeoutMs = 30_000,
    onScreen?: (screen: string[]) => void,
  ): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.screen();
      onScreen?.(s);
      if (done(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen was:\n${s.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * The exit status printed by ecrx(), once the command has finished. A Ctrl-C typed after ecrx printed its last
   * line is echoed by the terminal as "^C" where the shell then prints EXIT=n.
   */
  async exitCode(timeoutMs = 60_000, onScreen?: (screen: string[]) => void): Promise<number> {
    const done = /^(?:\^C)*EXIT=(\d+)$/;
    const s = await this.waitFor('the command to finish', (l) => l.some((x) => done.test(x)), timeoutMs, onScreen);
    return Number(done.exec(s.find((x) => done.test(x))!)![1]);
  }

  close(): void {
    try {
      this.tmux(['kill-server']);
    } catch {
      // already gone
    }
  }
}
