/** Shapes the service's plugins and routes share: who is calling, what a route requires, and per-request state. */
import 'fastify';

/** Roles, weakest first: a role may do everything the ones before it may. */
export const ROLES = ['viewer', 'predictor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What a route requires: a role, or nothing (public: health, metrics, docs). */
export type Access = Role | 'public';

/** An authenticated caller. */
export interface Principal {
  /** Stable id: "key:12" for an API key, "jwt:<iss>|<sub>" for a token. */
  id: string;
  /** Human name: the key's name, or the token's subject. */
  name: string;
  role: Role;
  kind: 'api-key' | 'jwt';
}

/** True when `have` may do what `need` requires. */
export function allows(have: Role, need: Access): boolean {
  return need === 'public' || ROLES.indexOf(have) >= ROLES.indexOf(need);
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; routes without it are admin-only (closed by default). */
    access?: Access;
  }
  interface FastifyRequest {
    /** The authenticated caller; null on public routes called without credentials. */
    principal: Principal | null;
  }
}
