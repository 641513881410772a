import { CursorSigner } from '../../src/cursor-signer.js';
import { SecretKeyring } from '../../src/secret-keyring.js';
import { DIRECTORY_CURSOR_PURPOSE } from '../../src/stores.js';

/** The directory cursors' signer, as createStores makes it, with a fixed test key. */
export const testCursors = new CursorSigner(
  new SecretKeyring(Buffer.alloc(32, 3).toString('base64')),
  DIRECTORY_CURSOR_PURPOSE,
);
