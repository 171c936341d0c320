// The layers a task card's picker offers for one level, without the DOM (unit-tested): 1..L of
// the task's own model and "last", and always the level's current layer, so that a layer the list
// would not have (a model not read yet, a file naming a layer past the model's) is shown as it is
// instead of the dropdown falling back to its first option ("layer 1"). A level that names no
// layer is shown as such (NO_LAYER), not as NaN or as the first option.

export type LayerChoice = number | 'last';

/** The picker's entry for a level whose file names no layer: shown, chosen, and never sent as a layer. */
export const NO_LAYER = 'no layer set';

/** A choice as its option reads. */
export function choiceLabel(choice: LayerChoice | null): string {
  return choice === null ? NO_LAYER : choice === 'last' ? 'last' : `layer ${choice}`;
}

/**
 * The choices for a level whose layer is `current` (null: the file names none), in order: 1..L,
 * the current layer where the list lacks it, and "last".
 */
export function layerChoices(current: LayerChoice | null, layers: number | undefined): LayerChoice[] {
  const count = layers ?? (typeof current === 'number' ? current : 1);
  const choices: LayerChoice[] = Array.from({ length: count }, (_, i) => i + 1);
  if (typeof current === 'number' && !choices.includes(current)) choices.push(current);
  return [...choices.sort((a, b) => (a as number) - (b as number)), 'last'];
}
