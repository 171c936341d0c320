// Command-line parsing for the data builders. `--packages` takes every following argument up
// to the next flag, so a shell glob (/var/lib/apt/lists/*_Packages*) can be passed as is;
// node's util.parseArgs would need the flag repeated before each file.

export type ParsedArgs = Map<string, string[]>;

export function parseFlags(argv: readonly string[], known: readonly string[]): ParsedArgs {
  const flags: ParsedArgs = new Map();
  let current: string[] | undefined;
  for (const arg of argv) {
    if (arg.startsWith('--')) {
      const name = arg.slice(2);
      if (!known.includes(name)) throw new UsageError(`unknown option --${name} (known: ${known.map((k) => `--${k}`).join(', ')})`);
      current = flags.get(name) ?? [];
      flags.set(name, current);
    } else if (current === undefined) {
      throw new UsageError(`unexpected argument '${arg}' before any option`);
    } else {
      current.push(arg);
    }
  }
  return flags;
}

/** The single value of an option, its default when absent, or a usage error. */
export function single(flags: ParsedArgs, name: string, fallback?: string): string {
  const values = flags.get(name);
  if (values === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  if (values.length !== 1) throw new UsageError(`--${name} takes exactly one value (got ${values.length})`);
  return values[0] as string;
}

export class UsageError extends Error {
  override name = 'UsageError';
}
