/**
 * The temporary names an output is built under, and the sweeping of those a killed ecrx left behind. Each name
 * carries the pid of the process that made it; one is removed only when its exact shape says ecrx made it and its
 * process is gone, so a run still going, or anything of the user's, is never touched.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isAlive } from '../core/pid.js';

const hex = () => randomBytes(4).toString('hex');
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `.<name>.ecrx-tmp-<pid>-<hex>` (being built) or `.<name>.ecrx-old-<pid>-<hex>` (being replaced), beside the target. */
export const siblingName = (target: string, what: 'tmp' | 'old') =>
  join(dirname(target), `.${basename(target)}.ecrx-${what}-${process.pid}-${hex()}`);

/** `.ecrx-tmp-<pid>-<hex>`, inside an empty target directory being filled. */
export const stagingName = (dir: string) => join(dir, `.ecrx-tmp-${process.pid}-${hex()}`);

/** The prefix for mkdtemp of a --no-cache scratch directory beside the output. */
export const scratchPrefix = (dir: string) => join(dir, `.ecrx-nocache-${process.pid}-`);

const STAGING = /^\.ecrx-tmp-(\d+)-[0-9a-f]{8}$/;
const SCRATCH = /^\.ecrx-nocache-(\d+)-[A-Za-z0-9]{6}$/;

const deadBy = (re: RegExp, name: string) => {
  const m = re.exec(name);
  return Boolean(m && !isAlive(Number(m[1])));
};

/** Whether `name`, inside a directory, is the staging of a dead ecrx. */
export const isDeadStaging = (name: string) => deadBy(STAGING, name);

/** Removes what dead ecrx processes left beside `target`: its temporary and old copies, and --no-cache scratch. */
export async function sweepBeside(target: string): Promise<void> {
  const mine = new RegExp(`^\\.${escape(basename(target))}\\.ecrx-(?:tmp|old)-(\\d+)-[0-9a-f]{8}$`);
  const names = await fsp.readdir(dirname(target)).catch(() => [] as string[]);
  for (const name of names) {
    if (deadBy(mine, name) || deadBy(SCRATCH, name))
      await fsp.rm(join(dirname(target), name), { recursive: true, force: true });
  }
}
