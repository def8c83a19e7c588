/**
 * Help that reads well at any width: descriptions wrap at word boundaries (a long word breaks after a `/` or `.`),
 * and when the terminal is too narrow for two columns each option's description goes under it. Examples are
 * laid out for the width too: a comment that does not fit beside its command goes above it, and a long command
 * is continued with `\` so it can still be pasted.
 */
import type { Command, Help } from 'commander';
import { displayWidth, wrapWords } from '../report/format.js';

/** Help width: the terminal's, or 80 when help goes to a pipe or a file. */
export const helpWidth = () => (process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : 80);

const INDENT = 2;
const SPACER = 2;
/** Below this many columns for descriptions, they go under their option instead of beside it. */
const MIN_DESCRIPTION = 36;

export function configureHelp(program: Command): void {
  program.configureHelp({
    sortSubcommands: false,
    showGlobalOptions: false,
    // Commands listed by name (and alias), as docker and git list theirs: their arguments are in their own help.
    subcommandTerm: (cmd: Command) => [cmd.name(), ...cmd.aliases()].join(', '),
    boxWrap(this: Help, str: string, width: number) {
      return wrapWords(str, width - 1);
    },
    formatItem(this: Help, term: string, termWidth: number, description: string) {
      const width = (this.helpWidth ?? helpWidth()) - 1;
      const pad = ' '.repeat(INDENT);
      if (!description) return pad + term;
      const room = width - INDENT - termWidth - SPACER;
      if (room >= MIN_DESCRIPTION) {
        const body = wrapWords(description, room).replace(/\n/g, `\n${' '.repeat(INDENT + termWidth + SPACER)}`);
        return `${pad}${term}${' '.repeat(termWidth - displayWidth(term) + SPACER)}${body}`;
      }
      const under = ' '.repeat(INDENT + 4);
      return `${pad}${term}\n${under}${wrapWords(description, width - under.length).replace(/\n/g, `\n${under}`)}`;
    },
  });
}

export type Example = [command: string, comment?: string];

/** Adds an "Examples:" section, laid out for the width help is shown at. */
export function addExamples(cmd: Command, examples: Example[], footer?: string): Command {
  return cmd.addHelpText(
    'after',
    () => `\n${formatExamples(examples, helpWidth() - 1)}${footer ? `\n\n${wrapWords(footer, helpWidth() - 1)}` : ''}`,
  );
}

export function formatExamples(examples: Example[], width: number): string {
  const lead = '  $ ';
  // Comments line up in one column, set by the commands that have one.
  const fits = ([c, note]: Example) => Boolean(note) && displayWidth(lead + c) + 2 + displayWidth(`# ${note}`) <= width;
  const column = Math.max(0, ...examples.filter(fits).map(([c]) => displayWidth(lead + c))) + 2;
  const lines = ['Examples:'];
  for (const [command, comment] of examples) {
    const one = lead + command;
    if (comment && fits([command, comment])) {
      const at =
        Math.max(column, displayWidth(one) + 2) + displayWidth(`# ${comment}`) <= width
          ? column
          : displayWidth(one) + 2;
      lines.push(`${one}${' '.repeat(Math.max(at - displayWidth(one), 2))}# ${comment}`);
      continue;
    }
    if (comment)
      lines.push(
        ...wrapWords(`# ${comment}`, width - INDENT)
          .split('\n')
          .map((l, i) => `${' '.repeat(INDENT)}${i ? '# ' : ''}${l}`),
      );
    lines.push(...continued(command, width));
  }
  return lines.join('\n');
}

/** A shell command wrapped at spaces, each broken line ending in ` \` so that it still pastes as one command. */
function continued(command: string, width: number): string[] {
  const out: string[] = [];
  let line = '  $ ';
  for (const word of command.split(' ')) {
    if (line.trim() !== '$' && displayWidth(`${line} ${word} \\`) > width) {
      out.push(`${line} \\`);
      line = `      ${word}`;
    } else line += line.endsWith(' ') ? word : ` ${word}`;
  }
  out.push(line);
  return out;
}
