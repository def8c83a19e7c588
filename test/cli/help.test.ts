/** Help examples laid out for the width: comments aligned or above, long commands continued with a backslash. */
import { formatExamples } from '../../src/cli/help.js';
import { globToRegExp } from '../../src/cli/actions/listing.js';

test('examples fit the width, and a continued command still reads as one command', () => {
  const examples: [string, string?][] = [
    ['ecrx pull my-app:1.4', 'into ./my-app-1.4'],
    ['ecrx pull 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api@sha256:abc --format oci-archive'],
  ];
  for (const width of [39, 59, 79]) {
    const lines = formatExamples(examples, width).split('\n');
    expect(lines[0]).toBe('Examples:');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(Math.max(width, 83));
    const joined = lines
      .slice(1)
      .join('\n')
      .replace(/ \\\n +/g, ' ');
    expect(joined).toContain(
      '$ ecrx pull 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api@sha256:abc --format oci-archive',
    );
    expect(joined).toContain('into ./my-app-1.4');
  }
  expect(formatExamples(examples, 79).split('\n')[1]).toBe('  $ ecrx pull my-app:1.4  # into ./my-app-1.4');
  expect(formatExamples(examples, 39).split('\n')[1]).toBe('  # into ./my-app-1.4');
});

test.each([
  ['v1.*', 'v1.2', true],
  ['v1.*', 'v102', false],
  ['release-?', 'release-a', true],
  ['*-rc[0-9]', 'x-rc3', true],
  ['*-rc[!0-9]', 'x-rc3', false],
  ['a+b', 'aab', false],
])('tag glob %s on %s: %s', (glob, tag, match) => expect(globToRegExp(glob).test(tag)).toBe(match));
