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
