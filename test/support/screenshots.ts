// Asks the test driver (codeWrapper) for a screenshot of the workbench: it watches the
// extension host's log for this marker. The short pause lets the workbench paint first.
export async function screenshot(name: string): Promise<void> {
  console.log(`HDLM_SCREENSHOT:${name}`);
  await new Promise((resolve) => setTimeout(resolve, 8000));
}
