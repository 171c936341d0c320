// The layers a task card's picker offers for one level, without the DOM (unit-tested): 1..L of
// the task's own model and "last", and always the level's current layer, so that a layer the list
// would not have (a model not read yet, a file naming a layer past the model's) is shown as it is
// instead of the dropdown falling back to its first option ("layer 1").

export type LayerChoice = number | 'last';

export function layerChoices(current: LayerChoice, layers: number | undefined): LayerChoice[] {
  const count = layers ?? (typeof current === 'number' ? current : 1);
  const choices: LayerChoice[] = Array.from({ length: count }, (_, i) => i + 1);
  if (typeof current === 'number' && !choices.includes(current)) choices.push(current);
  return [...choices.sort((a, b) => (a as number) - (b as number)), 'last'];
}
