// `hdlm`: the engine's command-line front end (no VS Code). Commands grow with the engine;
// `info` starts the engine on the configured devices and prints what it chose.
import { Engine, isExecutionProvider, type ExecutionProvider } from './index';

interface CliOptions {
  command: string;
  providers: ExecutionProvider[];
  threads: number;
  json: boolean;
}

const USAGE = `usage: hdlm <command> [options]

commands:
  info                 start the engine and print runtime, backends and the chosen device

options:
  --device a,b,...     execution providers to try in order (webgpu, cuda, cpu); default cpu
  --threads N          CPU threads (0 = onnxruntime decides); default 0
  --json               print JSON for scripts instead of a table
  -h, --help           show this help`;

function parseArgs(argv: string[]): CliOptions {
  const options: CliOptions = { command: '', providers: ['cpu'], threads: 0, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    if (arg === '--json') options.json = true;
    else if (arg === '--device') options.providers = parseProviders(value());
    else if (arg === '--threads') options.threads = parseThreads(value());
    else if (arg === '-h' || arg === '--help') options.command = 'help';
    else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
    else if (!options.command) options.command = arg;
    else throw new UsageError(`unexpected argument ${arg}`);
  }
  return options;
}

function parseProviders(list: string): ExecutionProvider[] {
  const names = list.split(',').map((s) => s.trim());
  const bad = names.filter((n) => !isExecutionProvider(n));
  if (bad.length > 0) throw new UsageError(`unknown device ${bad.join(', ')} (use webgpu, cuda, cpu)`);
  return names as ExecutionProvider[];
}

function parseThreads(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--threads must be a whole number ≥ 0, got ${text}`);
  return n;
}

class UsageError extends Error {}

async function info(options: CliOptions): Promise<void> {
  const engine = await Engine.create({ providers: options.providers, threads: options.threads });
  const result = engine.info();
  if (options.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const rows: [string, string][] = [
    ['onnxruntime-node', result.runtimeVersion],
    ['backends', result.backends.map((b) => `${b.name}${b.bundled ? '' : ' (not bundled)'}`).join(', ')],
    ['device', result.device],
    ['probe', `${result.probeMs.toFixed(3)} ms`],
    ['threads', result.threads === 0 ? 'auto' : String(result.threads)],
    ...result.fallbacks.map((f): [string, string] => [`skipped ${f.provider}`, f.reason]),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
}

async function main(argv: string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`hdlm: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  switch (options.command) {
    case 'info':
      await info(options);
      return 0;
    case '':
    case 'help':
      console.log(USAGE);
      return options.command === 'help' ? 0 : 2;
    default:
      console.error(`hdlm: unknown command ${options.command}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(`hdlm: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
