import { useMutation } from "@tanstack/react-query";
import { useState, type SyntheticEvent, type ReactNode } from "react";
import { api, unwrap } from "../../api/client";
import { fieldErrors } from "../../api/problem";
import { useSession } from "../../auth/session";
import { FormActions } from "../../components/FormActions";
import { Banner, ErrorBanner, Field, RoleBadge } from "../../components/ui";

const MIN_PASSWORD = 12;

export function AccountPage(): ReactNode {
  const session = useSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});

  const change = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/auth/password", {
          body: { current_password: current, new_password: next },
        }),
      ),
    onSuccess: () => {
      setCurrent("");
      setNext("");
      setRepeat("");
    },
    onError: (error) => setErrors(fieldErrors(error)),
  });

  const submit = (event: SyntheticEvent): void => {
    event.preventDefault();
    const found: Record<string, string> = {};
    if (!current) found.current_password = "Enter your current password.";
    if (next.length < MIN_PASSWORD) found.new_password = `At least ${MIN_PASSWORD} characters.`;
    if (repeat !== next) found.repeat = "The two new passwords differ.";
    setErrors(found);
    if (Object.keys(found).length === 0) change.mutate();
  };

  return (
    <>
      <section className="card">
        <div className="card-head">
          <h2>Account</h2>
        </div>
        <div className="card-body">
          <dl className="props">
            <dt>Username</dt>
            <dd>{session.user.username}</dd>
            <dt>Display name</dt>
            <dd>{session.user.display_name || <span className="faint">—</span>}</dd>
            <dt>Email</dt>
            <dd>{session.user.email}</dd>
            <dt>Tenant</dt>
            <dd>
              {session.tenant.name} <span className="faint mono small">({session.tenant.slug})</span>
            </dd>
            <dt>Role</dt>
            <dd>
              <RoleBadge role={session.role} />
            </dd>
          </dl>
        </div>
      </section>
      <section className="card">
        <div className="card-head">
          <h2>Change password</h2>
        </div>
        <form className="card-body form" onSubmit={submit} noValidate aria-label="Change password">
          {change.isSuccess ? (
            <Banner tone="success">Password changed. Your other sessions were signed out.</Banner>
          ) : null}
          {change.isError ? <ErrorBanner error={change.error} /> : null}
          <Field label="Current password" error={errors.current_password}>
            {(p) => (
              <input {...p} className="input" type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />
            )}
          </Field>
          <div className="grid-2">
            <Field label="New password" error={errors.new_password} hint={`At least ${MIN_PASSWORD} characters.`}>
              {(p) => (
                <input {...p} className="input" type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} />
              )}
            </Field>
            <Field label="New password again" error={errors.repeat}>
              {(p) => (
                <input {...p} className="input" type="password" autoComplete="new-password" value={repeat} onChange={(e) => setRepeat(e.target.value)} />
              )}
            </Field>
          </div>
          <FormActions submit="Change password" pending={change.isPending} busyLabel="Saving" />
        </form>
      </section>
    </>
  );
}
