/** Which messages the kernel checks against their schemas (see validation.ts); no imports, so worker threads pay nothing for it. */
export type ValidateMode = 'boundary' | 'all';

/** `RUSTYCLAW_VALIDATE` (boundary|all) wins over `kernel.validate`, like the other RUSTYCLAW_* overrides (the test suite sets it to `all`). */
export function validateMode(config: { kernel: { validate?: string } }, env: NodeJS.ProcessEnv = process.env): ValidateMode {
  const v = env.RUSTYCLAW_VALIDATE || config.kernel.validate;
  return v === 'all' ? 'all' : 'boundary';
}
