/*
 * Apart from entra.ts, which answers token requests and checks client
 * assertions with client-assertion.ts: both write these errors.
 */

/** An Entra (AADSTS) error: the OAuth `error`, the numeric code and its text. */
export interface AadstsError {
  status: number;
  error: string;
  code: number;
  message: string;
  /** Entra's `suberror`, on the answers that carry one (Conditional Access). */
  suberror?: string;
}
