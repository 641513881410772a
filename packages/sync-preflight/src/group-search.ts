import { buildFailure, classifyGraphError } from '@pinnacle/domain';
import { EntraTokenError, GraphRequestError } from '@pinnacle/entra-graph';
import { type ConnectInput, connectToGraph } from './preflight.js';
import { SyncStoppedError, TransientSyncError } from './sync-errors.js';
import { tokenFailure } from './token-errors.js';

export interface FoundGroup {
  id: string;
  displayName: string | null;
}

/**
 * The tenant's groups whose name matches `term`, read with the org's stored
 * credentials: preflight's credential checks first (settings, secret expiry,
 * token, permissions), then Graph's `$search`. Fails as preflight does:
 * SyncStoppedError with the failure an admin can act on (a 403 from Graph is
 * `consent_missing`), TransientSyncError for trouble that may pass.
 */
export async function searchGroupsByName(
  input: ConnectInput & { term: string; top?: number },
): Promise<FoundGroup[]> {
  const connection = await connectToGraph(input);
  try {
    return await connection.graph.searchGroups(input.term, input.top);
  } catch (error) {
    if (error instanceof EntraTokenError) {
      throw tokenFailure(error, 'preflight', connection.context);
    }
    if (!(error instanceof GraphRequestError)) throw error;
    const verdict = classifyGraphError({
      status: error.status,
      code: error.graphCode ?? undefined,
      context: 'group',
    });
    if (verdict.kind === 'transient') {
      throw new TransientSyncError('preflight', `group search: ${verdict.reason}`, {
        cause: error,
      });
    }
    throw new SyncStoppedError(
      buildFailure(verdict.code, verdict.details, connection.context),
      'preflight',
    );
  }
}
