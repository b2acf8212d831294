import { AppMetaSchema } from './app-meta.entity.ts';
import { MembershipSchema } from './membership.entity.ts';
import { SessionSchema } from './session.entity.ts';
import { TenantSchema } from './tenant.entity.ts';
import { UserSchema } from './user.entity.ts';

export const entities = [TenantSchema, UserSchema, MembershipSchema, SessionSchema, AppMetaSchema];
