/** `ecrx sync PLAN`: load and check the plan, pick the shard, then the dry run or the run, and its report. */
import { EcrxError } from '../../core/errors.js';
import { formatBytes } from '../../report/format.js';
import { loadPlan } from '../../sync/plan.js';
import { formatDryRun, formatReport, incompleteError } from '../../sync/report.js';
import { dryRun, runSync, type SyncBackend } from '../../sync/run.js';
import { quotaShare, resolveShard } from '../../sync/shard.js';
import { setQuotaShare } from '../../ecr/pacer.js';
import { errorEnvelope, printNote, printSuccess, writeJson } from '../output.js';
import { syncBackend, type BackendFlags } from './sync-backend.js';

export interface SyncCommandFlags extends BackendFlags {
  dryRun?: boolean;
  shard?: string;
}

/**
 * Runs the plan through `backend` (default: the ECR backend). The report goes to stdout; with failed images the
 * run ends with SYNC_INCOMPLETE (exit 10), after the report, so a script sees both.
 */
export async function sync(
  planPath: string,
  flags: SyncCommandFlags,
  signal: AbortSignal,
  given?: SyncBackend & { close(): Promise<void> },
): Promise<void> {
  const backend = given ?? (await syncBackend(flags));
  const plan = loadPlan(planPath);
  const shard = resolveShard(flags.shard, plan.shards);
  // N shards side by side each take 1/N of ECR's rates, so that together they stay under the quotas.
  if (shard) setQuotaShare(quotaShare(shard.count));
  const opts = { shard, concurrency: flags.concurrency, signal };
  try {
    if (flags.dryRun) {
      const items = await dryRun(plan, backend, opts);
      const unreadable = items.filter((i) => i.error).length;
      const data = { plan: plan.file, dryRun: true, shard: shard ?? null, images: items };
      if (!unreadable) return printSuccess(flags, data, () => formatDryRun(items, shard));
      return finishIncomplete(
        flags,
        data,
        () => formatDryRun(items, shard),
        new EcrxError('SYNC_INCOMPLETE', `${unreadable} of ${items.length} images cannot be read`, {
          hint: 'Fix the plan entries named above; a run would fail for them.',
        }),
      );
    }
    const report = await runSync(plan, backend, {
      ...opts,
      onImage: (i) =>
        printNote(
          flags,
          `${i.error ? `failed ${i.error.code}` : i.skipped ? 'up to date' : `copied ${formatBytes(i.bytes)}`}: ${i.source} -> ${i.target}${i.tag ? `:${i.tag}` : ''}`,
        ),
    });
    const failed = incompleteError(report);
    if (!failed) return printSuccess(flags, report, () => formatReport(report));
    return finishIncomplete(flags, report, () => formatReport(report), failed);
  } finally {
    await backend.close();
  }
}

/** The report on stdout, then the error: one envelope with both under --json, else the table then the error line. */
function finishIncomplete(flags: SyncCommandFlags, data: unknown, human: () => string, err: EcrxError): void {
  if (flags.json) {
    writeJson({ ...errorEnvelope(err), data });
    process.exitCode = err.exitCode;
    return;
  }
  printSuccess(flags, data, human);
  throw err;
}
