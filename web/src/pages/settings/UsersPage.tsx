import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type SyntheticEvent, type ReactNode } from "react";
import { fieldErrors } from "../../api/problem";
import { createUser, identityKeys, updateUser, usersQuery } from "../../api/identity";
import { ROLES, type Role, type UserPublic } from "../../api/types";
import { RequireRole } from "../../auth/guards";
import { useSession } from "../../auth/session";
import { FormActions } from "../../components/FormActions";
import { PagedTable } from "../../components/PagedTable";
import { CreateToggle, ResourceSection } from "../../components/ResourceSection";
import { Banner, ConfirmFor, ErrorBanner, Field, RoleBadge, Time } from "../../components/ui";
import { useConfirm, useConfirmedMutation } from "../../lib/useConfirm";

const USERNAME_RE = /^[a-z0-9_.-]{3,64}$/;
const EMAIL_RE = /^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$/;
const MIN_PASSWORD = 12;

interface NewUser {
  username: string;
  email: string;
  display_name: string;
  password: string;
  role: Role;
}

const EMPTY: NewUser = { username: "", email: "", display_name: "", password: "", role: "viewer" };

function validateNewUser(user: NewUser): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!USERNAME_RE.test(user.username))
    errors.username = "3–64 characters: lowercase letters, digits, '_', '.', '-'.";
  if (!EMAIL_RE.test(user.email.trim()) || user.email.length > 254) errors.email = "Enter an email address.";
  if (user.display_name.length > 200) errors.display_name = "At most 200 characters.";
  if (user.password.length < MIN_PASSWORD) errors.password = `At least ${MIN_PASSWORD} characters.`;
  return errors;
}

function CreateUser({ onDone }: { onDone: (user: UserPublic) => void }): ReactNode {
  const queryClient = useQueryClient();
  const [user, setUser] = useState<NewUser>(EMPTY);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const create = useMutation({
    mutationFn: () => createUser({ ...user, email: user.email.trim() }),
    onSuccess: async (created) => {
      await queryClient.invalidateQueries({ queryKey: identityKeys.users });
      setUser(EMPTY);
      onDone(created);
    },
    onError: (error) => setErrors(fieldErrors(error)),
  });
  const set = (key: keyof NewUser, value: string): void => setUser((u) => ({ ...u, [key]: value }));
  const submit = (event: SyntheticEvent): void => {
    event.preventDefault();
    const found = validateNewUser(user);
    setErrors(found);
    if (Object.keys(found).length === 0) create.mutate();
  };
  return (
    <form className="card-body form" onSubmit={submit} noValidate aria-label="New user" style={{ borderBottom: "1px solid var(--border)" }}>
      {create.isError ? <ErrorBanner error={create.error} /> : null}
      <div className="grid-2">
        <Field label="Username" error={errors.username}>
          {(p) => <input {...p} name="username" className="input" autoComplete="off" value={user.username} onChange={(e) => set("username", e.target.value)} />}
        </Field>
        <Field label="Email" error={errors.email}>
          {(p) => <input {...p} name="email" className="input" type="email" autoComplete="off" value={user.email} onChange={(e) => set("email", e.target.value)} />}
        </Field>
        <Field label="Display name" error={errors.display_name}>
          {(p) => <input {...p} name="display_name" className="input" value={user.display_name} onChange={(e) => set("display_name", e.target.value)} />}
        </Field>
        <Field label="Role" error={errors.role}>
          {(p) => (
            <select {...p} name="role" className="select" value={user.role} onChange={(e) => set("role", e.target.value)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <Field label="Initial password" error={errors.password} hint={`At least ${MIN_PASSWORD} characters. Share it with the user privately.`}>
        {(p) => <input {...p} name="password" className="input" type="password" autoComplete="new-password" value={user.password} onChange={(e) => set("password", e.target.value)} />}
      </Field>
      <FormActions submit="Create user" pending={create.isPending} busyLabel="Creating" />
    </form>
  );
}

function UsersTable(): ReactNode {
  const session = useSession();
  const query = useInfiniteQuery(usersQuery());
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<string | null>(null);
  const deactivating = useConfirm<UserPublic>();
  const users = query.data?.pages.flatMap((p) => p.items) ?? [];

  const update = useConfirmedMutation(
    deactivating,
    ({ id, body }: { id: string; body: { role?: Role; is_active?: boolean } }) => updateUser(id, body),
    identityKeys.users,
  );

  return (
    <ResourceSection title="Users" actions={<CreateToggle open={creating} label="New user" onToggle={() => setCreating((v) => !v)} />}>
      {creating ? (
        <CreateUser
          onDone={(u) => {
            setCreating(false);
            setCreated(u.username);
          }}
        />
      ) : null}
      {created || update.isError ? (
        <div className="card-body" style={{ paddingBottom: 0 }}>
          {created ? <Banner tone="success">User {created} was created.</Banner> : null}
          {update.isError ? <ErrorBanner error={update.error} /> : null}
        </div>
      ) : null}
      <PagedTable
        query={query}
        count={users.length}
        minHeight={160}
        label="Users"
        head={
          <>
            <th>User</th>
            <th>Email</th>
            <th>Role</th>
            <th>Status</th>
            <th>Last login</th>
            <th />
          </>
        }
      >
        {users.map((u) => {
          const self = u.id === session.user.id;
          return (
            <tr key={u.id} data-user={u.username}>
              <td>
                <strong>{u.username}</strong>
                {self ? <span className="faint small"> (you)</span> : null}
                {u.display_name ? <div className="small muted">{u.display_name}</div> : null}
              </td>
              <td>{u.email}</td>
              <td>
                {self ? (
                  <RoleBadge role={u.role} />
                ) : (
                  <select
                    className="select"
                    style={{ width: 130, height: 30 }}
                    aria-label={`Role of ${u.username}`}
                    value={u.role}
                    disabled={update.isPending}
                    onChange={(e) => update.mutate({ id: u.id, body: { role: e.target.value as Role } })}
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {r}
                      </option>
                    ))}
                  </select>
                )}
              </td>
              <td>
                {u.is_active ? <span className="badge badge-ok">active</span> : <span className="badge badge-muted">deactivated</span>}
              </td>
              <td>
                <Time value={u.last_login} />
              </td>
              <td className="actions">
                {self ? null : u.is_active ? (
                  <button type="button" className="btn btn-sm btn-danger-ghost" onClick={() => deactivating.ask(u)}>
                    Deactivate
                  </button>
                ) : (
                  <button
                    type="button"
                    className="btn btn-sm"
                    disabled={update.isPending}
                    onClick={() => update.mutate({ id: u.id, body: { is_active: true } })}
                  >
                    Reactivate
                  </button>
                )}
              </td>
            </tr>
          );
        })}
      </PagedTable>
      <ConfirmFor
        confirm={deactivating}
        title={(u) => `Deactivate ${u.username}?`}
        confirmLabel="Deactivate"
        busy={update.isPending}
        onConfirm={(u) => update.mutate({ id: u.id, body: { is_active: false } })}
      >
        <p>They are signed out at once and cannot sign in until reactivated. Their agents stay.</p>
      </ConfirmFor>
    </ResourceSection>
  );
}

export function UsersPage(): ReactNode {
  return (
    <RequireRole role="admin">
      <UsersTable />
    </RequireRole>
  );
}
