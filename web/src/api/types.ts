/** Names for the generated schema types the UI uses. */
import type { components } from "./schema";

type Schemas = components["schemas"];

export type Role = Schemas["Role"];
export type TokenPublic = Schemas["TokenPublic"];
export type MePublic = Schemas["MePublic"];
export type UserRef = Schemas["UserRef"];
export type TenantRef = Schemas["TenantRef"];
export type UserPublic = Schemas["UserPublic"];
export type UserCreate = Schemas["UserCreate"];
export type UserUpdate = Schemas["UserUpdate"];
export type ApiKeyPublic = Schemas["ApiKeyPublic"];
export type ApiKeyCreated = Schemas["ApiKeyCreated"];
export type ApiKeyCreate = Schemas["ApiKeyCreate"];
export type TenantPublic = Schemas["TenantPublic"];
export type TenantUpdate = Schemas["TenantUpdate"];
export type AgentPublic = Schemas["AgentPublic"];
export type AgentCreate = Schemas["AgentCreate"];
export type AgentUpdate = Schemas["AgentUpdate"];
export type AgentType = Schemas["AgentType"];
export type AgentStatus = Schemas["AgentStatus"];
export type AgentSort = Schemas["AgentSort"];
export type AuditEntryPublic = Schemas["AuditEntryPublic"];
export type Info = Schemas["Info"];

export const ROLES: readonly Role[] = ["viewer", "developer", "admin"];
export const AGENT_TYPES: readonly AgentType[] = ["llm", "classifier", "extractor", "custom"];
export const AGENT_STATUSES: readonly AgentStatus[] = [
  "stopped",
  "deploying",
  "running",
  "scaling",
  "error",
];

const RANK: Record<Role, number> = { viewer: 0, developer: 1, admin: 2 };

/** Whether `role` may do what `needed` may (viewer < developer < admin). */
export function roleAllows(role: Role | undefined, needed: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[needed];
}
