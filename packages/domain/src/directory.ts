import { z } from 'zod';
import { guidSchema } from './identifiers.js';

/**
 * A user as a Graph members page returns it with
 * `$select=id,displayName,mail,userPrincipalName,accountEnabled`: the one
 * model of a user's own fields, from the Graph reader through the snapshot
 * store to the API. Extra properties (`@odata.type`, anything Graph adds)
 * are ignored and dropped. A property Graph leaves out reads as null; a
 * missing (or null) `accountEnabled` reads as enabled (Graph omits it only
 * for a caller without User.Read.All, which preflight already stops), so an
 * omission never removes a user. Field defaults and per-field transforms
 * only, never one of the whole object: one object per user, for pages of 999.
 */
export const graphUserSchema = z.object({
  id: guidSchema,
  displayName: z.string().nullable().default(null),
  mail: z.string().nullable().default(null),
  userPrincipalName: z.string().min(1),
  accountEnabled: z
    .boolean()
    .nullish()
    .transform((v) => v ?? true),
});
export type GraphUser = z.output<typeof graphUserSchema>;

/**
 * A user of the committed snapshot (`GET /orgs/{orgId}/directory/users`):
 * its Graph fields, and `groupIds`, the selected groups it belongs to,
 * directly or through nesting (lower-case GUIDs). `displayName` and `mail`
 * are null when Entra has none (mail is null for accounts without a mailbox).
 */
export const directoryUserSchema = z.object({
  id: guidSchema,
  displayName: z.string().nullable(),
  mail: z.string().nullable(),
  userPrincipalName: z.string().min(1),
  accountEnabled: z.boolean(),
  groupIds: z.array(guidSchema),
});
export type DirectoryUser = z.infer<typeof directoryUserSchema>;

/** One page of `transitiveMembers/microsoft.graph.user`. */
export const graphUsersPageSchema = z.object({
  value: z.array(graphUserSchema),
  '@odata.nextLink': z.string().optional(),
  '@odata.count': z.number().int().min(0).optional(),
});
export type GraphUsersPage = z.infer<typeof graphUsersPageSchema>;
