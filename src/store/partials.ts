/**
 * Unfinished downloads kept across runs: `<cache>/partial-v1/<hex>` holds the bytes at their offsets,
 * `<hex>.json` records which byte ranges are on disk (replaced atomically, and only ever claiming bytes whose
 * write had completed), and `<hex>.lock` says which process is writing it. A record is a hint, never a proof: the
 * bytes are hashed again before the blob is committed, and a partial that does not verify is thrown away.
 *
 * The lock is a file created with O_EXCL holding the owner's pid and its process start time (so a reused pid is
 * not mistaken for the owner). A lock whose owner is gone is taken over; a second process that wants the same
 * blob waits for the first to finish or die instead of downloading it too.
 */
import { promises as fsp, readdirSync, readFileSync, lstatSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { isAlive } from '../core/pid.js';
import { sleep } from '../core/retry.js';
import type { Span } from './ranges.js';

export interface PartialRecord {
  v: 1;
  digest: string;
  size: number;
  ranges: Span[];
}

export interface PartialInfo {
  digest: string;
  /** The blob's full size. */
  size: number;
  /** Bytes on disk according to the record. */
  bytes: number;
  mtimeMs: number;
  /** A live process is writing it now. */
  locked: boolean;
}

interface LockOwner {
  pid: number;
  /** The owner's start time as the kernel counts it (Linux), so a recycled pid is told apart. */
  start?: string;
}

const HEX = /^[a-f0-9]{64}$/;
/** Directories this process has made (or found): made once, not once per blob. */
const made = new Set<string>();
/** This process's start time, read once. */
let myStart: string | undefined;
/** A lock file that cannot be read (its writer died between create and write) is stale after this. */
const UNREADABLE_LOCK_MS = 10_000;

/** The process's start time in clock ticks since boot (Linux); undefined elsewhere or when gone. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, counted after the command name (which may hold spaces) closes with ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function ownerAlive(owner: LockOwner): boolean {
  if (!isAlive(owner.pid)) return false;
  if (!owner.start) return true;
  const now = processStart(owner.pid);
  return now === undefined || now === owner.start;
}

export class PartialStore {
  readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'partial-v1');
  }

  dataPath(digest: string): string {
    return join(this.dir, hexOf(digest));
  }
  private recordPath(digest: string): string {
    return `${this.dataPath(digest)}.json`;
  }
  private lockPath(digest: string): string {
    return `${this.dataPath(digest)}.lock`;
  }

  /** Creates the directory once per process (a blob's download asks each time; a removed one is made again). */
  async ensureDir(): Promise<void> {
    if (made.has(this.dir)) return;
    await fsp.mkdir(this.dir, { recursive: true });
    made.add(this.dir);
  }

  /**
   * The record of a partial of this blob, when one is there, readable and about this blob at this size; null when
   * one is there but is not that (it should be removed), undefined when there is none.
   */
  async readRecord(digest: string, size: number): Promise<PartialRecord | null | undefined> {
    let text: string;
    try {
      text = await fsp.readFile(this.recordPath(digest), 'utf8');
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : null;
    }
    try {
      const rec = JSON.parse(text) as PartialRecord;
      const ok =
        rec.v === 1 &&
        rec.digest === digest &&
        rec.size === size &&
        Array.isArray(rec.ranges) &&
        rec.ranges.every(
          (r) =>
            Array.isArray(r) &&
            Number.isSafeInteger(r[0]) &&
            Number.isSafeInteger(r[1]) &&
            r[0] >= 0 &&
            r[0] < r[1] &&
            r[1] <= size,
        );
      return ok ? rec : null;
    } catch {
      return null;
    }
  }

  /** Replaces the record atomically (a kill mid-write leaves the old one). */
  async writeRecord(rec: PartialRecord): Promise<void> {
    const final = this.recordPath(rec.digest);
    const tmp = `${final}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await fsp.writeFile(tmp, JSON.stringify(rec));
      await fsp.rename(tmp, final);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  /** Forgets the partial's record; its bytes go with discard or become the blob by commit. */
  async dropRecord(digest: string): Promise<void> {
    await fsp.rm(this.recordPath(digest), { force: true });
  }

  async discard(digest: string): Promise<void> {
    await this.dropRecord(digest);
    await fsp.rm(this.dataPath(digest), { force: true });
  }

  /**
   * Takes the blob's lock, waiting while a live process holds it. `ready` is asked between waits: when it says
   * the blob has arrived (the other process finished it), no lock is taken and undefined is returned.
   */
  async lock(
    digest: string,
    opts: { signal?: AbortSignal; onWait?: (pid: number) => void; ready?: () => Promise<boolean> } = {},
  ): Promise<(() => Promise<void>) | undefined> {
    await this.ensureDir();
    const path = this.lockPath(digest);
    myStart ??= processStart(process.pid);
    const me: LockOwner = { pid: process.pid, start: myStart };
    let told = false;
    for (;;) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (await this.create(path, me)) {
        return async () => {
          // Only our own lock is removed: one taken over from us (we were thought dead) is left alone.
          if (readOwner(path)?.pid === me.pid) await fsp.rm(path, { force: true });
        };
      }
      const owner = readOwner(path);
      if (owner === undefined ? lockAge(path) > UNREADABLE_LOCK_MS : !ownerAlive(owner)) {
        await takeOver(path, owner);
        continue;
      }
      if (owner && !told) {
        told = true;
        opts.onWait?.(owner.pid);
      }
      if (opts.ready && (await opts.ready())) return undefined;
      await sleep(100 + Math.random() * 150, opts.signal);
    }
  }

  /** Creates the lock file holding `me`; false when it exists. A directory removed meanwhile is made again. */
  private async create(path: string, me: LockOwner, again = true): Promise<boolean> {
    let fh: FileHandle;
    try {
      fh = await fsp.open(path, 'wx');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'ENOENT' || !again) throw err;
      made.delete(this.dir); // a `cache clean` removed it since this process made it
      await this.ensureDir();
      return this.create(path, me, false);
    }
    try {
      await fh.writeFile(JSON.stringify(me));
    } finally {
      await fh.close();
    }
    return true;
  }

  /** Every partial, from its record (a data file without one holds nothing reusable and counts 0 bytes). */
  list(): PartialInfo[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: PartialInfo[] = [];
    for (const name of names) {
      if (!HEX.test(name)) continue;
      const digest = `sha256:${name}`;
      try {
        const st = lstatSync(join(this.dir, name));
        if (!st.isFile()) continue;
        let size = 0;
        let bytes = 0;
        try {
          const rec = JSON.parse(readFileSync(this.recordPath(digest), 'utf8')) as PartialRecord;
          size = rec.size;
          bytes = rec.ranges.reduce((n, [s, e]) => n + e - s, 0);
        } catch {
          // no record: nothing on disk is known good
        }
        const owner = readOwner(this.lockPath(digest));
        out.push({ digest, size, bytes, mtimeMs: st.mtimeMs, locked: owner !== undefined && ownerAlive(owner) });
      } catch {
        // removed meanwhile
      }
    }
    return out;
  }

  /** Removes a partial nobody is writing (false when a live process holds its lock). */
  async removeIfUnlocked(digest: string): Promise<boolean> {
    const release = await this.tryLock(digest);
    if (!release) return false;
    try {
      await this.discard(digest);
    } finally {
      await release();
    }
    return true;
  }

  private async tryLock(digest: string): Promise<(() => Promise<void>) | undefined> {
    const owner = readOwner(this.lockPath(digest));
    if (owner && ownerAlive(owner)) return undefined;
    // One pass of lock(): takes a free or abandoned lock, never waits.
    try {
      return await this.lock(digest, { ready: async () => true });
    } catch {
      return undefined;
    }
  }
}

function hexOf(digest: string): string {
  if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new Error(`not a sha256 digest: ${digest}`);
  return digest.slice(7);
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
    return Number.isInteger(o.pid) ? o : undefined;
  } catch {
    return undefined;
  }
}

function lockAge(path: string): number {
  try {
    return Date.now() - lstatSync(path).mtimeMs;
  } catch {
    return Infinity;
  }
}

/**
 * Removes an abandoned lock. It is first renamed aside and read again: if what was moved is not the dead owner's
 * lock (another process took it over and made its own in between), it is put back with link(), which never
 * replaces a lock made meanwhile.
 */
async function takeOver(path: string, dead: LockOwner | undefined): Promise<void> {
  const aside = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await fsp.rename(path, aside);
  } catch {
    return; // gone already: someone else took it over
  }
  const moved = readOwner(aside);
  const same = dead === undefined ? moved === undefined : moved?.pid === dead.pid && moved?.start === dead.start;
  if (!same) await fsp.link(aside, path).catch(() => undefined);
  await fsp.rm(aside, { force: true });
}
