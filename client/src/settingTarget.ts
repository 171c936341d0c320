// Where a per-machine choice is written, without `vscode` (unit-tested). The device order suits
// this machine (its GPU, its CUDA install), not the project: written into the workspace's
// settings it would travel in a shared .vscode/settings.json to machines it does not fit. So it
// goes to the user's settings, unless the workspace already sets it: a user value would then be
// overridden and the choice would seem to do nothing, so it replaces the workspace's value there.

/** The values `WorkspaceConfiguration.inspect` reports at the scopes that override the user's. */
export interface OverridingValues {
  workspaceValue?: unknown;
}

export type MachineSettingTarget = 'user' | 'workspace';

export function machineSettingTarget(inspected: OverridingValues | undefined): MachineSettingTarget {
  return inspected?.workspaceValue !== undefined ? 'workspace' : 'user';
}
