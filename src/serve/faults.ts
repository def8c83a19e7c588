/** Fault injection for `ecrx serve`: each fault fires with its own probability, from one seeded generator. */
export interface FaultOptions {
  throttle?: number;
  serverError?: number;
  cut?: number;
  /** Answer a ranged download with the whole blob, as a server without Range support does. */
  ignoreRange?: number;
  slowdown?: number;
  expire?: number;
  losePartResponse?: number;
  layerLagMs?: number;
  seed?: number;
}

export class Faults {
  private state: number;
  readonly layerLagMs: number;

  constructor(private readonly opts: FaultOptions = {}) {
    this.state = (opts.seed ?? Date.now()) >>> 0;
    this.layerLagMs = opts.layerLagMs ?? 0;
  }

  /** mulberry32: small, fast, and the same sequence for the same seed. */
  random(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  private fires(p: number | undefined): boolean {
    return p !== undefined && p > 0 && this.random() < p;
  }

  throttle = () => this.fires(this.opts.throttle);
  serverError = () => this.fires(this.opts.serverError);
  cut = () => this.fires(this.opts.cut);
  ignoreRange = () => this.fires(this.opts.ignoreRange);
  slowdown = () => this.fires(this.opts.slowdown);
  expire = () => this.fires(this.opts.expire);
  losePartResponse = () => this.fires(this.opts.losePartResponse);

  get active(): boolean {
    const o = this.opts;
    return Boolean(
      o.throttle ||
      o.serverError ||
      o.cut ||
      o.ignoreRange ||
      o.slowdown ||
      o.expire ||
      o.losePartResponse ||
      o.layerLagMs,
    );
  }
}
