// `hdlm`: the engine's command-line front end (no VS Code). Ctrl-C cancels the running command
// cooperatively (between tokens and segments) instead of killing it mid-write.
import { CancelledError } from '../model/segmentedModel';
import { parse, USAGE_EXIT_CODE, UsageError, withTaskArgument } from './args';
import { checkCommandLine, PROMPT_FILE_COMMANDS, promptArguments } from './commandLine';
import { benchCommand } from './commands/bench';
import { classifyCommand } from './commands/classify';
import { evalCommand, trainCommand } from './commands/train';
import { generateCommand } from './commands/generate';
import { info } from './commands/info';
import { layersCommand } from './commands/layers';
import { newTaskCommand } from './commands/newTask';
import { mistakesCommand } from './commands/mistakes';
import { reportCommand } from './commands/report';
import { scanLayersCommand } from './commands/scanLayers';
import { thinkCommand } from './commands/think';
import { errorMessage } from '../errorMessage';

const USAGE = `usage: hdlm <command> [options] [prompt | task file]

commands:
  info        start the engine and print runtime, backends and the chosen device; with --model DIR, that model's
              architecture, layers, width, context, vocabulary, dtypes and size
  generate    complete a prompt, streaming; --layer K decodes from layer K (early exit)
  layers      what every layer predicts next for a prompt (readout through the model's head)
  classify    coarse-to-fine classification with a task's heads, each level from its own layer
  think       thought then answer: the task's thought layer drafts a thought (exiting early), the last
              layer answers on the same decode state (the editor's Think Then Answer)
  new-task    write a task file beside a dataset (DATASET.jsonl): the kind from its lines, one level
              per label level, layers from half the model's depth to the last; never replaces a file
  train       fine-tune a task's heads on its dataset, and the flat last-layer baseline beside them
  eval        per-level accuracy, macro-F1, joint accuracy and compute: HdLM heads vs flat baseline
              (thought-then-answer tasks: thought/answer exact match)
  mistakes    the examples the task's last eval got wrong, one JSON line each (no model runs)
  report      the task's last eval per label: precision, recall, F1, confusions (Markdown; no model runs)
  scan-layers which layer should decide each level: a head per level at every layer on a sample, dev
              accuracy per level and layer, and the suggested layers (kept as layer-scan.json by the heads)
  bench       engine figures for a model (prefill, decode, exits, floor, catch-up), or --task latency

options (all commands):
  --model DIR        a Hugging Face model folder (default: the shipped models/hdlm-tiny); with a task,
                     the model its "model": "default" stands for
  --device a,b,...   execution providers to try in order (webgpu, cuda, cpu); default cpu
  --threads N        CPU threads (0 = onnxruntime decides; more than the cores is capped at them); default 0
  --json             print JSON for scripts instead of text
  --prompt-file FILE (generate, layers, classify, think) the prompt from a file, - for standard input (one final
                     line ending dropped; over 8 MiB refused); a command line over 16,384 bytes is refused
                     (onnxruntime-node crashes on it)
generate:  --max-tokens N  --temperature T  --top-k K  --top-p P  --seed S  --stop TEXT
           --repetition-penalty R  --no-repeat-ngram N  --stop-ids 1,2  --layer K  --ids 1,2,3 (prompt as token ids)
           --ignore-eos (stop only at --stop and --stop-ids, not at the model's end tokens: eos_token_id of
           generation_config.json, else of config.json)
           --head-precision int8 (the model's head on 8-bit weights: a quarter of its bytes, logits within ~1 %)
           (what is not given comes from the model's generation_config.json, as transformers reads it,
           else greedy, 64 tokens)
           --stop TEXT is never streamed; a special token's text (--stop "<|end|>") stops at that token.
           A text prompt is read as text: "<|end|>" in it is its characters; give special tokens with --ids
layers:    --top K (tokens per layer, default 5)  --ids 1,2,3  --head-precision int8 (as for generate)
classify:  --task FILE.hdlm.json (default: the shipped WordNet task, on the shipped model only)  --beam B (default 2)  --beam-margin M
           (a level hands on a runner-up path only within M of the best path's probability; default 0.5)
           --file FILE: every input of a file (JSON lines with "text", and "id" and "labels" if present;
           any other file: each non-empty line), one JSON line each to stdout or --out FILE (written
           whole at the end); with labels, the accuracy against those as deep as the task's levels
think:     --task FILE.hdlm.json (default: the shipped thought task, or on a model it does not fit the model's own
           head at half its depth; a classification task thinks at its first level's layer through the model's own head)  --thought-tokens N (default 16)  --max-tokens N (answer, default 24)
train:     --task FILE  --heads DIR (instead of the task's)  --epochs N  --learning-rate R  --max-examples N
           --no-feature-cache  --events (JSON lines on stdout)
eval:      --task FILE  --heads DIR  --file test.jsonl (default: the task's test file)  --max-examples N  --beam B  --beam-margin M
           --predictions FILE (one JSON line per example: gold path and both variants' labels and probabilities;
           for a thoughtThenAnswer task its thought, answers, whether each was right, and the answer NLLs)
           --events (JSON lines on stdout); the result is kept as evaluation.json beside the heads
           (a --max-examples sample does not replace a whole evaluation made since the heads were trained)
           (a thoughtThenAnswer task: thought and answer exact match, HdLM vs the flat answer)
mistakes:  --task FILE (default: the shipped WordNet task)  --out FILE (written whole; else stdout, the summary
           on stderr): by level where HdLM first went wrong, the surest mistakes first; --json the whole result (to --out if given);
           --label L [--level N]: only those whose gold label (at level N) or gold thought is L
report:    --task FILE (default: the shipped WordNet task)  --out FILE.md (written whole; else stdout)  --json (to --out if given):
           per level each label's precision, recall, F1 and flat's F1, the worst first, and the top confusions
scan-layers: --task FILE  --train-examples N (default 4000)  --dev-examples N (default 8000)  --layers a,b,...
           (default: every layer, or 12 spread over a deeper model)  --tolerance POINTS (default 1: the cheapest
           layer within that many accuracy points of a level's best)  --epochs N  --no-feature-cache  --out FILE.md
           --events (JSON lines on stdout)
train, eval and scan-layers also take --stop-on-stdin-end: the end of standard input cancels them as
Ctrl-C does (the language server runs its jobs so, on every platform; Windows has no Ctrl-C for them)
train, eval, mistakes, report and scan-layers take the task as --task FILE or as their one argument
(hdlm train my.hdlm.json); info and bench take no argument.
bench:     --exits a,b  --prompt-tokens N  --thought-tokens N  --steps N  --task-head-rows K  |  --task FILE --inputs N --beam B --beam-margin M
           (prompt + thought + 1 tokens must fit the model's context: more is refused before anything loads)`;

const COMMAND_OPTIONS = {
  generate: {
    layer: { type: 'string' },
    'max-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    'top-p': { type: 'string' },
    'repetition-penalty': { type: 'string' },
    'no-repeat-ngram': { type: 'string' },
    seed: { type: 'string' },
    stop: { type: 'string', multiple: true },
    'stop-ids': { type: 'string' },
    'ignore-eos': { type: 'boolean' },
    ids: { type: 'string' },
    'head-precision': { type: 'string' },
    'prompt-file': { type: 'string' },
  },
  layers: { top: { type: 'string' }, ids: { type: 'string' }, 'head-precision': { type: 'string' }, 'prompt-file': { type: 'string' } },
  think: { task: { type: 'string' }, 'prompt-file': { type: 'string' }, 'thought-tokens': { type: 'string' }, 'max-tokens': { type: 'string' } },
  classify: { task: { type: 'string' }, 'prompt-file': { type: 'string' }, beam: { type: 'string' }, 'beam-margin': { type: 'string' }, file: { type: 'string' }, out: { type: 'string' } },
  train: { task: { type: 'string' }, heads: { type: 'string' }, epochs: { type: 'string' }, 'learning-rate': { type: 'string' }, 'max-examples': { type: 'string' }, 'no-feature-cache': { type: 'boolean' }, events: { type: 'boolean' }, 'stop-on-stdin-end': { type: 'boolean' } },
  bench: { exits: { type: 'string' }, 'prompt-tokens': { type: 'string' }, 'thought-tokens': { type: 'string' }, steps: { type: 'string' }, 'task-head-rows': { type: 'string' }, task: { type: 'string' }, inputs: { type: 'string' }, beam: { type: 'string' }, 'beam-margin': { type: 'string' } },
  eval: { task: { type: 'string' }, heads: { type: 'string' }, file: { type: 'string' }, 'max-examples': { type: 'string' }, beam: { type: 'string' }, 'beam-margin': { type: 'string' }, predictions: { type: 'string' }, events: { type: 'boolean' }, 'stop-on-stdin-end': { type: 'boolean' } },
  'new-task': {},
  mistakes: { task: { type: 'string' }, out: { type: 'string' }, label: { type: 'string' }, level: { type: 'string' } },
  report: { task: { type: 'string' }, out: { type: 'string' } },
  'scan-layers': { task: { type: 'string' }, out: { type: 'string' }, 'train-examples': { type: 'string' }, 'dev-examples': { type: 'string' }, layers: { type: 'string' }, tolerance: { type: 'string' }, epochs: { type: 'string' }, 'no-feature-cache': { type: 'boolean' }, events: { type: 'boolean' }, 'stop-on-stdin-end': { type: 'boolean' } },
  info: {},
} as const;

type Command = keyof typeof COMMAND_OPTIONS;

/** Commands whose one argument, if any, is their task (withTaskArgument). */
const TASK_COMMANDS: ReadonlySet<Command> = new Set(['train', 'eval', 'mistakes', 'report', 'scan-layers']);
/** Commands that read a prompt, or a dataset, from their arguments. */
const PROMPT_COMMANDS: ReadonlySet<Command> = new Set(['generate', 'layers', 'classify', 'think', 'new-task']);

/**
 * Cancels when standard input ends. The language server cancels a job by closing the job's stdin
 * (jobs.ts): a pipe's end reaches the process alike on every platform, where a signal does not
 * (on Windows a child "sent" SIGINT is terminated at once, mid-write), and it also ends when the
 * server dies, so the job stops instead of running on unobserved. The pipe does not keep the
 * process alive once the command is done.
 */
function stopOnStdinEnd(controller: AbortController): void {
  process.stdin.on('end', () => controller.abort());
  process.stdin.on('error', () => controller.abort());
  process.stdin.resume();
  (process.stdin as { unref?: () => void }).unref?.();
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command) {
    // Misuse: the usage goes where errors go, so that a pipe reading stdout sees nothing.
    console.error(USAGE);
    return USAGE_EXIT_CODE;
  }
  if (command === '-h' || command === '--help' || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (!(command in COMMAND_OPTIONS)) throw new UsageError(`unknown command ${command}`);
  const parsed = parse(rest, COMMAND_OPTIONS[command as Command]);
  if (parsed.values['help']) {
    console.log(USAGE);
    return 0;
  }
  checkCommandLine(process.argv, parsed.values, parsed.positionals);
  const positionals = PROMPT_FILE_COMMANDS.has(command) ? promptArguments(parsed.values, parsed.positionals) : parsed.positionals;
  const values = PROMPT_COMMANDS.has(command as Command) ? parsed.values : withTaskArgument(command, parsed.values, positionals, TASK_COMMANDS.has(command as Command));
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  // Under the language server stdout is a pipe: when the server dies the pipe breaks, and the
  // job stops cooperatively (keeping what it saved) instead of running on unobserved.
  process.stdout.on('error', () => controller.abort());
  if (values['stop-on-stdin-end'] === true) stopOnStdinEnd(controller);
  switch (command as Command) {
    case 'info':
      await info(values);
      break;
    case 'generate':
      await generateCommand(values, positionals, controller.signal);
      break;
    case 'layers':
      await layersCommand(values, positionals, controller.signal);
      break;
    case 'classify':
      await classifyCommand(values, positionals, controller.signal);
      break;
    case 'think':
      await thinkCommand(values, positionals, controller.signal);
      break;
    case 'new-task':
      await newTaskCommand(values, positionals);
      break;
    case 'mistakes':
      mistakesCommand(values);
      break;
    case 'report':
      reportCommand(values);
      break;
    case 'scan-layers':
      await scanLayersCommand(values, controller.signal);
      break;
    case 'train':
      await trainCommand(values, controller.signal);
      break;
    case 'eval':
      await evalCommand(values, controller.signal);
      break;
    case 'bench':
      await benchCommand(values, controller.signal);
      break;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      // The message alone stays on screen; seventy lines of usage after it would push it off.
      console.error(`hdlm: ${err.message}\nrun \`hdlm --help\` for usage`);
      process.exitCode = USAGE_EXIT_CODE;
    } else if (err instanceof CancelledError) {
      console.error('hdlm: cancelled');
      process.exitCode = 130;
    } else {
      console.error(`hdlm: ${errorMessage(err)}`);
      process.exitCode = 1;
    }
  },
);
