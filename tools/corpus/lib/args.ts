// A small `--name value` flag parser shared by the corpus scripts, with a usage text built from
// the same table so the help never drifts from what is accepted; and, for the scripts elsewhere
// that parse with node:util's parseArgs, the same --help and exit-2 behaviour (commandLineOr).

export interface FlagSpec {
  kind: 'string' | 'number' | 'boolean';
  default: string | number | boolean;
  help: string;
}

export type FlagValues = Record<string, string | number | boolean>;

/** A bad command line: the script prints the message and the usage, and exits with status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function usage(script: string, summary: string, specs: Record<string, FlagSpec>): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const left = spec.kind === 'boolean' ? `--${name}` : `--${name} <${spec.kind}>`;
    const def = spec.kind === 'boolean' ? '' : ` (default: ${String(spec.default) || 'none'})`;
    return `  ${left.padEnd(26)} ${spec.help}${def}`;
  });
  return [`usage: node ${script} [options]`, '', summary, '', 'options:', ...rows, `  ${'--help'.padEnd(26)} show this help`].join('\n');
}

/** Parses argv against the table; returns null when --help was asked for. */
export function parseFlags(argv: readonly string[], specs: Record<string, FlagSpec>): FlagValues | null {
  const values: FlagValues = {};
  for (const [name, spec] of Object.entries(specs)) values[name] = spec.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return null;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, eq >= 0 ? eq : undefined) : '';
    const spec = specs[name];
    if (spec === undefined) throw new UsageError(`unknown argument ${arg}`);
    if (spec.kind === 'boolean') {
      values[name] = eq >= 0 ? arg.slice(eq + 1) !== 'false' : true;
      continue;
    }
    const raw = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new UsageError(`--${name} needs a value`);
    if (spec.kind === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new UsageError(`--${name} needs a number, got '${raw}'`);
      values[name] = n;
    } else {
      values[name] = raw;
    }
  }
  return values;
}

/**
 * For scripts that parse with node:util's parseArgs: runs `parse` on the command line unless it
 * asks for --help (the usage is printed, undefined returned: the script does nothing); an unknown
 * or malformed option prints its message and the usage and exits with status 2, as above.
 */
export function commandLineOr<T>(usageText: string, parse: () => T): T | undefined {
  if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
    console.log(usageText);
    return undefined;
  }
  try {
    return parse();
  } catch (err) {
    if (!String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) throw err;
    console.error(`${(err as Error).message}\n\n${usageText}`);
    process.exit(2);
  }
}
