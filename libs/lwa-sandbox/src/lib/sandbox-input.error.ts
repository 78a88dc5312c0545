/** Thrown by the control operations when their input is unusable; the HTTP layer answers 400. */
export class SandboxInputError extends Error {
  override readonly name = 'SandboxInputError';
}
