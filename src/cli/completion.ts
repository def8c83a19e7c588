/**
 * Shell completion. The scripts for bash, zsh and fish are thin: each asks `ecrx __complete WORDS... CURRENT` and
 * gets a directive line (`words`, `nospace` or `files`) and then one candidate per line. The logic lives here,
 * read from the commander tree, so the three shells complete the same way: commands, options, option values,
 * and repositories and tags from the registry when credentials (or a local endpoint) are there.
 */
import type { Command, Option } from 'commander';

export type Directive = 'words' | 'nospace' | 'files';
export interface Completion {
  directive: Directive;
  candidates: string[];
}

/** commander keeps `.hidden()` commands' flag private: read, never written. */
const isHidden = (c: Command) => Boolean((c as Command & { _hidden?: boolean })._hidden);

/** What each command's positional arguments are, in order; the last repeats for variadic ones. */
const ARGUMENTS: Record<string, string[]> = {
  pull: ['image'],
  push: ['file', 'image'],
  inspect: ['image'],
  tags: ['repository'],
  copy: ['image', 'image'],
  sync: ['file'],
  export: ['image', 'file'],
  rm: ['image'],
  completion: ['shell'],
  help: ['command'],
};

const FILE_OPTIONS = new Set(['--output', '--cache-dir', '--docker-config', '--data-dir']);
const PLATFORMS = [
  'linux/amd64',
  'linux/arm64',
  'linux/arm/v7',
  'linux/arm/v6',
  'linux/386',
  'linux/ppc64le',
  'linux/s390x',
  'windows/amd64',
  'all',
];
export const SHELLS = ['bash', 'zsh', 'fish'];

export interface RegistryLookup {
  repositories(flags: Record<string, string>): Promise<string[]>;
  tags(repository: string, flags: Record<string, string>): Promise<string[]>;
}

const findOption = (cmd: Command, word: string): Option | undefined =>
  cmd.options.find((o) => o.long === word || o.short === word);
const takesValue = (o: Option | undefined) => Boolean(o && (o.required || o.optional));

export async function complete(program: Command, words: string[], registry?: RegistryLookup): Promise<Completion> {
  const current = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  const { cmd, positionals, flags } = walk(program, before);
  const words_ = (candidates: string[], directive: Directive = 'words'): Completion => ({
    directive,
    candidates: candidates.filter((c) => c.startsWith(current)),
  });

  // The value of an option.
  const prev = before.at(-1);
  const prevOption = prev?.startsWith('-') && !prev.includes('=') ? findOption(cmd, prev) : undefined;
  if (prevOption && takesValue(prevOption)) return optionValue(prevOption, words_);
  if (current.startsWith('-')) {
    const names = cmd.options
      .filter((o) => !o.hidden)
      .flatMap((o) => [o.long, o.short].filter((n): n is string => Boolean(n)));
    return words_([...names, '--help']);
  }
  const subs = cmd.commands.filter((c) => !isHidden(c)).map((c) => c.name());
  if (subs.length && positionals.length === 0) return words_(subs);

  const kinds = ARGUMENTS[cmd.name()] ?? [];
  const kind = kinds[Math.min(positionals.length, kinds.length - 1)];
  switch (kind) {
    case 'file':
      return { directive: 'files', candidates: [] };
    case 'shell':
      return words_(SHELLS);
    case 'command':
      return words_(program.commands.filter((c) => !isHidden(c)).map((c) => c.name()));
    case 'repository':
      return words_(registry ? await registry.repositories(flags) : []);
    case 'image': {
      if (!registry) return { directive: 'words', candidates: [] };
      const colon = current.indexOf(':');
      if (colon < 0)
        return words_(
          (await registry.repositories(flags)).map((r) => `${r}:`),
          'nospace',
        );
      const repository = current.slice(0, colon);
      return words_((await registry.tags(repository, flags)).map((t) => `${repository}:${t}`));
    }
    default:
      return { directive: 'words', candidates: [] };
  }
}

/** The (sub)command the words before the cursor reach, its positionals so far, and the options given values. */
function walk(program: Command, before: string[]) {
  let cmd = program;
  const positionals: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < before.length; i++) {
    const w = before[i];
    if (w.startsWith('-')) {
      const [name, inline] = w.split('=', 2);
      const o = findOption(cmd, name);
      if (takesValue(o) && inline === undefined && i + 1 < before.length) flags[name] = before[++i];
      else if (inline !== undefined) flags[name] = inline;
      continue;
    }
    const sub =
      positionals.length === 0 ? cmd.commands.find((c) => c.name() === w || c.aliases().includes(w)) : undefined;
    if (sub) cmd = sub;
    else positionals.push(w);
  }
  return { cmd, positionals, flags };
}

/** Candidates for the value of `option`: files, platforms, its choices, or the AWS profiles. */
async function optionValue(option: Option, words_: (candidates: string[]) => Completion): Promise<Completion> {
  const long = option.long ?? '';
  if (FILE_OPTIONS.has(long)) return { directive: 'files', candidates: [] };
  if (long === '--platform') return words_(PLATFORMS);
  if (option.argChoices) return words_(option.argChoices);
  if (long === '--profile') return words_(await profiles());
  return { directive: 'words', candidates: [] };
}

async function profiles(): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  const { homedir } = await import('node:os');
  const { join } = await import('node:path');
  const names = new Set<string>();
  for (const file of [
    process.env.AWS_CONFIG_FILE ?? join(homedir(), '.aws', 'config'),
    process.env.AWS_SHARED_CREDENTIALS_FILE ?? join(homedir(), '.aws', 'credentials'),
  ]) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const m of text.matchAll(/^\s*\[(?:profile\s+)?([^\]\s]+)\s*\]/gm))
      if (m[1] !== 'sso-session') names.add(m[1]);
  }
  return [...names];
}

export function completionScript(shell: string): string {
  switch (shell) {
    case 'bash':
      return BASH;
    case 'zsh':
      return ZSH;
    case 'fish':
      return FISH;
    default:
      throw new Error(shell);
  }
}

const BASH = `# ecrx completion for bash. Load it with:  source <(ecrx completion bash)
_ecrx_completion() {
  local line="\${COMP_LINE:0:COMP_POINT}"
  local cur="\${line##*[[:space:]]}"
  local -a words
  read -r -a words <<< "\${line:0:\${#line}-\${#cur}}"
  local IFS=$'\\n'
  local -a out
  out=( $(ecrx __complete "\${words[@]:1}" "$cur" 2>/dev/null) )
  COMPREPLY=( "\${out[@]:1}" )
  case "\${out[0]}" in
    files) compopt -o filenames 2>/dev/null; COMPREPLY+=( $(compgen -f -- "$cur") ) ;;
    nospace) compopt -o nospace 2>/dev/null ;;
  esac
  # bash splits words at ':' (COMP_WORDBREAKS): hand back only what follows the word's last ':'.
  if [[ "$cur" == *:* && "$COMP_WORDBREAKS" == *:* ]]; then
    local prefix="\${cur%"\${cur##*:}"}" i
    for i in "\${!COMPREPLY[@]}"; do COMPREPLY[i]="\${COMPREPLY[i]#"$prefix"}"; done
  fi
}
complete -F _ecrx_completion ecrx
`;

const ZSH = `#compdef ecrx
# ecrx completion for zsh. Load it with:  source <(ecrx completion zsh)
# (or save it as _ecrx in a directory of your $fpath)
_ecrx() {
  local -a out candidates
  out=( "\${(@f)$(ecrx __complete "\${(@)words[2,CURRENT-1]}" "\${words[CURRENT]}" 2>/dev/null)}" )
  candidates=( "\${(@)out[2,-1]}" )
  case "\${out[1]}" in
    files) _files ;;
    nospace) compadd -S '' -- "\${candidates[@]}" ;;
    *) compadd -- "\${candidates[@]}" ;;
  esac
}
if (( $+functions[compdef] )); then compdef _ecrx ecrx; fi
`;

const FISH = `# ecrx completion for fish. Load it with:  ecrx completion fish | source
# (or save it as ~/.config/fish/completions/ecrx.fish)
function __ecrx_complete
    set -l tokens (commandline -opc)
    set -l current (commandline -ct)
    set -l out (ecrx __complete $tokens[2..-1] $current 2>/dev/null)
    test (count $out) -gt 1; and printf '%s\\n' $out[2..-1]
    if test "$out[1]" = files
        __fish_complete_path $current
    end
end
complete -c ecrx -f -a '(__ecrx_complete)'
`;
