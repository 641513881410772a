export type SimulatorErrorCode =
  | 'invalid_tenant_input'
  | 'invalid_fault_spec'
  | 'invalid_settings'
  | 'tenant_exists'
  | 'domain_taken'
  | 'tenant_not_found'
  | 'app_not_found'
  | 'invalid_certificate'
  | 'certificate_exists'
  | 'certificate_not_found';

/** Misuse of the simulator's own API (not an emulated Microsoft error). */
export class SimulatorError extends Error {
  constructor(
    readonly code: SimulatorErrorCode,
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'SimulatorError';
  }
}
