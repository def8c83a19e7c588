/**
 * The conformance table in docs/serve.md cannot drift: it is exactly what the declaration and the API model render
 * to, every operation the server serves has a row (and nothing else does), every error and failure code it declares
 * is one the model lists for that operation, and the protocol errors it declares for all are not ECR operation errors
 * in disguise. (The fuzz test checks the other direction: every error the server answers is declared here.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { COMMON_ERRORS, conformance, renderConformanceTable, withTable } from '../../src/serve/conformance.js';
import { modelErrorsOf, outputShapeOf, pagingLimitsOf, shapes, inputShapeOf } from '../../src/serve/model.js';
import { supportedOperations } from '../../src/serve/server.js';

const doc = readFileSync(join(ROOT, 'docs', 'serve.md'), 'utf8');

test('docs/serve.md holds the table as rendered now (regenerate with npm run docs:serve)', () => {
  expect(doc).toBe(withTable(doc, supportedOperations));
  expect(doc).toContain(renderConformanceTable(supportedOperations));
});

test('one row per operation the server serves, and no other', () => {
  expect(Object.keys(conformance).sort()).toEqual([...supportedOperations].sort());
  for (const op of supportedOperations) expect(doc).toContain(`\n| ${op} |`);
});

test("each declared error is in the model's list for its operation", () => {
  for (const op of supportedOperations) {
    const listed = modelErrorsOf(op);
    for (const e of conformance[op].errors) expect([op, e, listed.includes(e)]).toEqual([op, e, true]);
  }
});

test("each declared failure code is in the model's enum for that operation's failures", () => {
  for (const op of supportedOperations) {
    const codes = conformance[op].failureCodes ?? [];
    const failures = shapes[outputShapeOf(op)!].members?.failures;
    expect([op, codes.length > 0]).toEqual([op, failures !== undefined]);
    if (!failures) continue;
    const entry = shapes[shapes[failures.shape].member!.shape];
    const allowed = shapes[entry.members!.failureCode.shape].enum!;
    for (const code of codes) expect([op, code, allowed.includes(code)]).toEqual([op, code, true]);
  }
});

test('the protocol errors declared for every operation are not operation errors of the model', () => {
  const all = new Set(supportedOperations.flatMap(modelErrorsOf));
  for (const e of COMMON_ERRORS) expect([e, all.has(e)]).toEqual([e, false]);
});

test("the paging column is the model's: each operation with maxResults shows its documented default and range", () => {
  for (const op of supportedOperations) {
    const hasMax = shapes[inputShapeOf(op)!].members?.maxResults !== undefined;
    const limits = pagingLimitsOf(op);
    expect([op, limits !== undefined]).toEqual([op, hasMax]);
    const row = doc.split('\n').find((l) => l.startsWith(`| ${op} |`))!;
    expect(row).toContain(limits ? `| default ${limits.documentedDefault}, ${limits.min}-${limits.max} |` : '| — |');
  }
});
