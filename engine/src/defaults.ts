// Where the shipped model and task live. Every front end is a bundle in dist/ (dist/hdlm.js,
// dist/server.js), and the model ships beside that folder in models/hdlm-tiny.
import { resolve } from 'node:path';

export function defaultModelDir(): string {
  return resolve(__dirname, '..', 'models', 'hdlm-tiny');
}

/** The shipped WordNet task (its heads live beside it). */
export function defaultTaskFile(): string {
  return resolve(defaultModelDir(), 'tasks', 'wordnet.hdlm.json');
}

/** The shipped thought-then-answer task: a gloss → the kind of thing → the word (what `hdlm think` runs by default). */
export function defaultThoughtTaskFile(): string {
  return resolve(defaultModelDir(), 'tasks', 'thought.hdlm.json');
}
